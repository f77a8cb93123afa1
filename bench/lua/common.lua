-- common.lua: shared by every bench script.  done() prints one line,
-- "BENCHJSON {...}", that bench/run parses: throughput, latency percentiles
-- (microseconds) and every kind of error wrk counts.  A run whose answers
-- are not all 2xx/3xx is reported as such and never becomes a figure.
local M = {}

function M.done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_s":%.6f,"rps":%.2f,"bytes":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
      summary.requests, secs, summary.requests / secs, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout))
end

-- headers from the environment: BENCH_COOKIE, BENCH_AUTH (either may be unset)
function M.env_headers()
   local c = os.getenv("BENCH_COOKIE")
   local a = os.getenv("BENCH_AUTH")
   if c and c ~= "" then wrk.headers["Cookie"] = c end
   if a and a ~= "" then wrk.headers["Authorization"] = a end
end

return M
