-- wrk script shared by every opsloop HTTP benchmark.
--
-- Environment (read once per wrk thread):
--   OPSLOOP_TOKEN     sent as "Authorization: Bearer <token>" when set
--   BENCH_BACKEND, BENCH_WORKERS, BENCH_ENDPOINT
--                     copied into the result line so that it describes itself
--
-- done() prints one line, "OPSLOOP_RESULT {json}", with requests/s, latency percentiles in
-- milliseconds (wrk's latency:percentile), non-2xx responses and socket errors.

local token = os.getenv("OPSLOOP_TOKEN")
if token and token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.headers["Accept"] = "application/json"

-- Every thread counts its own non-2xx responses; done() sums them through thread:get().
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

non2xx = 0

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
end

local function str(value)
   value = value or ""
   return '"' .. value:gsub('[%c"\\]', "") .. '"'
end

local function ms(microseconds)
   return string.format("%.3f", microseconds / 1000.0)
end

function done(summary, latency, requests)
   local non_2xx = 0
   for _, thread in ipairs(threads) do
      non_2xx = non_2xx + (thread:get("non2xx") or 0)
   end
   local seconds = summary.duration / 1e6
   local e = summary.errors
   local fields = {
      '"backend":' .. str(os.getenv("BENCH_BACKEND")),
      '"workers":' .. (tonumber(os.getenv("BENCH_WORKERS") or "") or "null"),
      '"endpoint":' .. str(os.getenv("BENCH_ENDPOINT")),
      '"duration_s":' .. string.format("%.3f", seconds),
      '"requests":' .. summary.requests,
      '"requests_per_s":' .. string.format("%.1f", summary.requests / seconds),
      '"latency_ms":{'
         .. '"mean":' .. ms(latency.mean)
         .. ',"p50":' .. ms(latency:percentile(50))
         .. ',"p95":' .. ms(latency:percentile(95))
         .. ',"p99":' .. ms(latency:percentile(99))
         .. ',"max":' .. ms(latency.max) .. '}',
      '"non_2xx":' .. non_2xx,
      '"socket_errors":{'
         .. '"connect":' .. e.connect
         .. ',"read":' .. e.read
         .. ',"write":' .. e.write
         .. ',"timeout":' .. e.timeout .. '}',
   }
   io.write("OPSLOOP_RESULT {" .. table.concat(fields, ",") .. "}\n")
end
