-- wrk script of `make bench`: PUT /v2/customers/lookup or GET .../customerDetails on random
-- loaded customers, by a random identifier type, as the org's till.
--
--   wrk -t2 -c64 -d20s -s bench/lua/customers.lua URL -- MODE CUSTOMERS POOL_START POOL_SIZE
--       ENROL_PERCENT THREADS PREFIX CHECK SEED AUTH1 AUTH2 ...
--
-- MODE is "update" or "details". Customer n's identifiers follow bench/dataset.py: mobile
-- "91" .. (9000000000 + n), email "customer<n>@example.com", externalId "EXT" .. n on 10 digits;
-- its org is (n - 1) % #AUTH + 1 (AUTHi is the Basic header value of org i's till).
--
-- Updates carry both names, a change to the email channel (verified and a meta key), a custom
-- field and two extended fields, with random values (the shape of dataset.update_body).
-- ENROL_PERCENT of them also enrol the customer in program 1016 with points; those go to
-- customers never enrolled before: the i-th such request of thread t (0-based) targets the
-- non-enrolled customer number POOL_START + t + THREADS * i (dataset.pool_customer), so threads
-- never share one, and the next run starts after the highest index used (reported by done()).
-- PREFIX is prepended to the path ("/echo" for the reference app's echo route). CHECK "1"
-- remembers the first non-2xx answer of each thread, to show it when a run fails.

local FIRST = {"Asha", "Ravi", "Meera", "Arjun", "Priya", "Vikram", "Lakshmi", "Rahul",
               "Ananya", "Kiran", "Divya", "Suresh", "Neha", "Amit", "Pooja", "Sanjay"}
local LAST = {"Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Patel", "Rao", "Menon", "Das",
              "Singh", "Kumar", "Joshi"}
local CITIES = {"Bangalore", "Mumbai", "Delhi", "Chennai", "Pune", "Hyderabad", "Kolkata", "Jaipur"}
local COLOURS = {"red", "blue", "green", "black", "white", "yellow"}
local BOOLS = {"true", "false"}

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("tid", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

local function arg(args, i)
   -- wrk puts the URL in args[0] and the script's own arguments from args[1] on.
   return args[i]
end

local function check_response(status, headers, body)
   if status >= 300 then
      bad = bad + 1
      if bad_sample == "" then bad_sample = status .. " " .. (body or "") end
   end
end

function init(args)
   mode = arg(args, 1)
   customers = tonumber(arg(args, 2))
   pool_start = tonumber(arg(args, 3))
   pool_size = tonumber(arg(args, 4))
   enrol_percent = tonumber(arg(args, 5))
   nthreads = tonumber(arg(args, 6))
   prefix = arg(args, 7)
   if prefix == "-" then prefix = "" end
   local check = arg(args, 8) == "1"
   local seed = tonumber(arg(args, 9))
   put_headers, get_headers = {}, {}
   local i = 10
   while arg(args, i) ~= nil do
      local auth = arg(args, i)
      table.insert(put_headers, {["Authorization"] = auth, ["Content-Type"] = "application/json"})
      table.insert(get_headers, {["Authorization"] = auth})
      i = i + 1
   end
   orgs = #put_headers
   if mode ~= "update" and mode ~= "details" then error("MODE must be update or details") end
   if orgs == 0 or customers == nil or nthreads == nil then error("missing arguments") end
   math.randomseed(seed + 7919 * tid)
   enrolled = 0      -- enrolments this thread sent
   exhausted = 0     -- enrolments not sent because the pool was used up
   bad = 0
   bad_sample = ""
   if check then response = check_response end
end

local function pick(list) return list[math.random(#list)] end

local function lookup_value(n, kind)
   if kind == 1 then return "mobile", string.format("919%09d", n) end
   if kind == 2 then return "email", string.format("customer%d@example.com", n) end
   return "externalId", string.format("EXT%010d", n)
end

local function pool_customer(i)
   return math.floor(i / 3) * 4 + i % 3 + 1
end

function request()
   local n = nil
   local enrol = false
   if mode == "update" and enrol_percent > 0 and math.random() * 100 < enrol_percent then
      local index = pool_start + tid + nthreads * enrolled
      if index < pool_size then
         n = pool_customer(index)
         enrol = true
         enrolled = enrolled + 1
      else
         exhausted = exhausted + 1
      end
   end
   if n == nil then n = math.random(customers) end
   local org = (n - 1) % orgs + 1
   local name, value = lookup_value(n, math.random(3))
   local path = prefix .. "/v2/customers/lookup"
   if mode == "details" then path = path .. "/customerDetails" end
   path = path .. "?source=INSTORE&identifierName=" .. name .. "&identifierValue=" .. value
   if mode == "details" then
      return wrk.format("GET", path, get_headers[org])
   end
   local body = '{"profiles":[{"firstName":"' .. pick(FIRST) .. '","lastName":"' .. pick(LAST)
      .. '","commChannels":[{"type":"email","value":"' .. string.format("customer%d@example.com", n)
      .. '","verified":' .. pick(BOOLS) .. ',"meta":{"residence":' .. pick(BOOLS) .. '}}]'
      .. ',"fields":{"favourite_colour":"' .. pick(COLOURS) .. '"}}]'
      .. ',"extendedFields":{"city":"' .. pick(CITIES) .. '","children":' .. math.random(0, 4) .. '}'
   if enrol then
      body = body .. ',"loyaltyProgramEnrollments":[{"programId":1016,"tierNumber":'
         .. math.random(3) .. ',"loyaltyPoints":' .. 50 * math.random(20) .. '}]'
   end
   return wrk.format("PUT", path, put_headers[org], body .. "}")
end

function done(summary, latency, requests)
   local enrolled_max, exhausted_total, bad_total, sample = 0, 0, 0, ""
   for _, t in ipairs(threads) do
      local e = t:get("enrolled") or 0
      if e > enrolled_max then enrolled_max = e end
      exhausted_total = exhausted_total + (t:get("exhausted") or 0)
      bad_total = bad_total + (t:get("bad") or 0)
      if sample == "" then sample = t:get("bad_sample") or "" end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,'
      .. '"p99_us":%d,"max_us":%d,"mean_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,'
      .. '"status":%d,"timeout":%d},"enrolled_per_thread_max":%d,"pool_exhausted":%d,'
      .. '"bad_seen":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
      enrolled_max, exhausted_total, bad_total))
   if sample ~= "" then
      io.write("BENCH_BAD " .. string.gsub(sample, "\n", " ") .. "\n")
   end
end
