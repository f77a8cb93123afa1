-- sessions.lua: GET the URL's path, each request with a session cookie drawn
-- at random from BENCH_KEYS (a file of sessionid values, one a line), so the
-- server looks up many different sessions as it would with many users.
-- The requests are formatted once in init(); request() only picks one.
local dir = os.getenv("BENCH_LUA_DIR") or "bench/lua"
local common = dofile(dir .. "/common.lua")

local reqs = {}
local n = 0

function init(args)
   local path = wrk.path
   for line in io.lines(os.getenv("BENCH_KEYS")) do
      if line ~= "" then
         n = n + 1
         reqs[n] = wrk.format("GET", path, { ["Cookie"] = "sessionid=" .. line })
      end
   end
   assert(n > 0, "no session keys in BENCH_KEYS")
   math.randomseed(os.time() + n)
end

function request()
   return reqs[math.random(n)]
end

done = common.done
