-- Single-use requests: each carries a DPoP proof or a client assertion whose jti the server
-- accepts only once, so each is sent once. bench/jwtgen.py signs them right before the run and
-- writes them as raw HTTP requests, each followed by a blank line, one file per wrk thread
-- ($BENCH_REQUESTS.<thread>: disjoint shares, as refresh.lua's); a thread sends its file's
-- requests in order. Should a thread run out, it sends its last request again (a replay the
-- server refuses, so an error) and counts it: bench.py reports "ran_out".
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

local reqs = {}
local i = 0
ran_out = 0
lines = 0

function init(args)
  local f = assert(io.open(os.getenv("BENCH_REQUESTS") .. "." .. id, "rb"))
  local all = f:read("*a")
  f:close()
  local pos = 1
  while true do
    local at = string.find(all, "\n\n", pos, true)
    if not at then break end
    reqs[#reqs + 1] = string.sub(all, pos, at - 1)
    pos = at + 2
  end
  lines = #reqs
end

function request()
  if i < #reqs then
    i = i + 1
  else
    ran_out = ran_out + 1
  end
  return reqs[i]
end

function done(summary, latency, requests)
  local out, total = 0, 0
  for _, t in ipairs(threads) do
    out = out + t:get("ran_out")
    total = total + t:get("lines")
  end
  common.done(summary, latency, requests, {ran_out = out, lines = total})
end
