-- login.lua: a stream of real logins.  Each request is the SPA's POST
-- /api/login/ with a csrftoken cookie and the matching X-CSRFToken header
-- (a fixed 32-character token, as a browser holding the cookie would send),
-- so every request costs one password hash on the server.
-- BENCH_EMAIL, BENCH_PASSWORD, BENCH_CSRF come from bench/run.
local dir = os.getenv("BENCH_LUA_DIR") or "bench/lua"
local common = dofile(dir .. "/common.lua")

local csrf = os.getenv("BENCH_CSRF")
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/api/login/"
wrk.body = string.format('{"email":"%s","password":"%s"}',
   os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "csrftoken=" .. csrf
wrk.headers["X-CSRFToken"] = csrf
done = common.done
