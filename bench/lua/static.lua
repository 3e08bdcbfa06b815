-- Cycles through pre-built POSTs: one per line of $BENCH_BODIES ("<basic credentials>\t<body>").
-- Used for client_credentials, introspection and the company request-token exchange, whose
-- requests can be replayed as they are.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")

local reqs = {}
local i = 0

function init(args)
  for _, line in ipairs(common.lines(os.getenv("BENCH_BODIES"))) do
    local auth, body = line:match("^([^\t]+)\t(.*)$")
    reqs[#reqs + 1] = common.post(os.getenv("BENCH_PATH"), auth, body)
  end
  -- Threads start at different places so they do not walk the list in step.
  i = math.random(#reqs)
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

done = common.done
