-- get.lua: a GET of the URL's path, with the Cookie / Authorization headers
-- bench/run passes in BENCH_COOKIE / BENCH_AUTH (none: anonymous).
local dir = os.getenv("BENCH_LUA_DIR") or "bench/lua"
local common = dofile(dir .. "/common.lua")

common.env_headers()
done = common.done
