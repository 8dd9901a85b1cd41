-- Requests for one load case and one JSON result line ("PERF_RESULT {...}") at the end.
--
-- Environment:
--   PERF_MODE      get | push | bulk | alerts
--   PERF_PATH      get: the path; "{id}" in it is replaced by SLO ids in turn
--   PERF_TOKEN     bearer token (optional);  PERF_COOKIE  Cookie header (optional)
--   PERF_IDS_FILE  SLO ids, one per line (get with "{id}", push, bulk)
--   PERF_SLOS      push/bulk: how many of those ids take part (the first ones)
--   PERF_BASE      push/bulk: epoch seconds of minute 0
--   PERF_MINUTES   push/bulk: minutes available from minute 0; beyond them minutes wrap around
--   PERF_GROUP     bulk: SLOs per request;  PERF_SPAN  bulk: consecutive minutes per request
--   PERF_THREADS   the wrk thread count (-t)
--   PERF_ALERTS    alerts: alerts per Alertmanager payload
--   PERF_SALT      alerts: unique per run (starts every fingerprint)
--   PERF_SERVICES  alerts: services svc-000 .. are named in the service label
--
-- Pushes: each wrk thread owns its own share of the SLOs and walks its minutes in order, so
-- minutes of one SLO are sent in order however many connections a thread has.
local threads = {}
local count = 0

function setup(thread)
   thread:set("tid", count)
   count = count + 1
   table.insert(threads, thread)
end

non2xx = 0
first_error = ""
last_minute = -1

local mode, path, ids, mine, base, minutes, group, span, counter
local alerts_per, salt, services
local sent_at = {}  -- alerts: request -> epoch s it was made, its new instances' startsAt

local function read_ids(file)
   local out = {}
   for line in io.lines(file) do
      if line ~= "" then out[#out + 1] = line end
   end
   return out
end

function init(args)
   mode = os.getenv("PERF_MODE") or "get"
   path = os.getenv("PERF_PATH") or "/"
   local token = os.getenv("PERF_TOKEN") or ""
   if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
   local cookie = os.getenv("PERF_COOKIE") or ""
   if cookie ~= "" then wrk.headers["Cookie"] = cookie end
   counter = 0
   local ids_file = os.getenv("PERF_IDS_FILE") or ""
   if ids_file ~= "" then ids = read_ids(ids_file) end
   if mode == "get" then return end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   if mode == "alerts" then
      alerts_per = tonumber(os.getenv("PERF_ALERTS"))
      salt = os.getenv("PERF_SALT") or "00"
      services = tonumber(os.getenv("PERF_SERVICES") or "100")
      return
   end
   local slos = tonumber(os.getenv("PERF_SLOS"))
   local nthreads = tonumber(os.getenv("PERF_THREADS"))
   base = tonumber(os.getenv("PERF_BASE"))
   minutes = tonumber(os.getenv("PERF_MINUTES"))
   group = tonumber(os.getenv("PERF_GROUP") or "1")
   span = tonumber(os.getenv("PERF_SPAN") or "1")
   -- this thread's SLOs: a contiguous share of the first `slos` ids
   local per = math.floor(slos / nthreads)
   mine = {}
   for k = 1, per do mine[k] = ids[tid * per + k] end
end

local function stamp(minute)
   return os.date("!%Y-%m-%dT%H:%M:00Z", base + 60 * (minute % minutes))
end

local function event(slo, minute, salt)
   local good = 1000 - salt % 3
   local out = '{"timestamp":"' .. stamp(minute) .. '","good":' .. good .. ',"total":1000'
   if slo then out = out .. ',"slo":"' .. slo .. '"' end
   return out .. "}"
end

-- Alertmanager's severities that opsloop's standard gives an hour or more to acknowledge
-- (others fall back to medium), so the scheduler escalates none of these during a run.
local SEVERITIES = {"medium", "low", "warning", "info"}

local function iso(epoch) return os.date("!%Y-%m-%dT%H:%M:%SZ", epoch) end

-- One alert instance of this thread: request `r`, slot `k`. Its labels and fingerprint depend
-- only on (run, thread, r, k) and it starts when request `r` was made, so a later request can
-- repeat or resolve it exactly.
local function alert(r, k, resolved)
   local n = r * alerts_per + k
   local fingerprint = string.format("%s%02x%08x%02x", salt, tid, r, k)
   local starts = iso(sent_at[r])
   return '{"status":"' .. (resolved and "resolved" or "firing") .. '","labels":{'
      .. '"alertname":"Synthetic' .. (n % 12) .. '",'
      .. '"service":"svc-' .. string.format("%03d", (n * 7 + tid) % services) .. '",'
      .. '"severity":"' .. SEVERITIES[n % #SEVERITIES + 1] .. '",'
      .. '"instance":"host-' .. (n % 97) .. ':9100","team":"team-' .. (n % 5) .. '"},'
      .. '"annotations":{"summary":"synthetic load"},'
      .. '"startsAt":"' .. starts .. '",'
      .. '"endsAt":"' .. (resolved and iso(os.time()) or "0001-01-01T00:00:00Z") .. '",'
      .. '"generatorURL":"http://prometheus.example/graph","fingerprint":"' .. fingerprint .. '"}'
end

-- A payload: in each ten alerts, six new instances, three repeats of new ones sent one to three
-- requests before (Alertmanager's repeat notifications: stored once) and one resolved notice
-- of a new one sent four requests before.
local function alerts_payload(i)
   local parts = {}
   sent_at[i] = os.time()
   sent_at[i - 5] = nil  -- never referred to again
   for k = 0, alerts_per - 1 do
      local slot = k % 10
      local first = k - slot
      if slot >= 6 and slot <= 8 and i >= 3 then
         parts[#parts + 1] = alert(i - (slot - 5), first + slot - 6, false)
      elseif slot == 9 and i >= 4 then
         parts[#parts + 1] = alert(i - 4, first + 3, true)
      else
         parts[#parts + 1] = alert(i, k, false)
      end
   end
   return '{"version":"4","receiver":"opsloop","status":"firing","groupKey":"{}:{thread=' .. tid
      .. '}","truncatedAlerts":0,"groupLabels":{},"commonLabels":{},"commonAnnotations":{},'
      .. '"externalURL":"http://alertmanager.example","alerts":[' .. table.concat(parts, ",")
      .. "]}"
end

function request()
   local i = counter
   counter = counter + 1
   if mode == "get" then
      if ids and string.find(path, "{id}", 1, true) then
         local id = ids[(i * 7919 + tid * 31) % #ids + 1]
         return wrk.format(nil, (string.gsub(path, "{id}", id)))
      end
      return wrk.format(nil, path)
   end
   if mode == "alerts" then
      return wrk.format(nil, "/api/v1/alerts/alertmanager", nil, alerts_payload(i))
   end
   if mode == "push" then
      local slo = mine[i % #mine + 1]
      local minute = math.floor(i / #mine)
      if minute > last_minute then last_minute = minute end
      local body = '{"events":[' .. event(nil, minute, i) .. "]}"
      return wrk.format(nil, "/api/v1/slos/" .. slo .. "/events", nil, body)
   end
   -- bulk: `group` of this thread's SLOs x `span` consecutive minutes per request
   local groups = math.floor(#mine / group)
   local g = i % groups
   local first_minute = math.floor(i / groups) * span
   local parts = {}
   for m = 0, span - 1 do
      local minute = first_minute + m
      if minute > last_minute then last_minute = minute end
      for k = 1, group do
         parts[#parts + 1] = event(mine[g * group + k], minute, i + k)
      end
   end
   return wrk.format(nil, "/api/v1/events", nil, '{"events":[' .. table.concat(parts, ",") .. "]}")
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if first_error == "" then first_error = status .. " " .. string.sub(body or "", 1, 200) end
   end
end

local function ms(us) return string.format("%.3f", us / 1000.0) end

function done(summary, latency, requests)
   local bad, err, reached = 0, "", -1
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non2xx") or 0)
      local fe = thread:get("first_error") or ""
      if err == "" and fe ~= "" then err = fe end
      local lm = thread:get("last_minute") or -1
      if lm > reached then reached = lm end
   end
   err = string.gsub(err, '[%c"\\]', " ")
   local seconds = summary.duration / 1e6
   local e = summary.errors
   io.write("PERF_RESULT {"
      .. '"duration_s":' .. string.format("%.3f", seconds)
      .. ',"requests":' .. summary.requests
      .. ',"bytes":' .. summary.bytes
      .. ',"requests_per_s":' .. string.format("%.1f", summary.requests / seconds)
      .. ',"latency_ms":{"mean":' .. ms(latency.mean)
      .. ',"p50":' .. ms(latency:percentile(50))
      .. ',"p90":' .. ms(latency:percentile(90))
      .. ',"p99":' .. ms(latency:percentile(99))
      .. ',"max":' .. ms(latency.max) .. "}"
      .. ',"non_2xx":' .. bad
      .. ',"first_error":"' .. err .. '"'
      .. ',"last_minute":' .. reached
      .. ',"socket_errors":{"connect":' .. e.connect .. ',"read":' .. e.read
      .. ',"write":' .. e.write .. ',"timeout":' .. e.timeout .. "}}\n")
end
