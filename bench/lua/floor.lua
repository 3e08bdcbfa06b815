-- The floor: GET /healthz, which touches nothing but the HTTP stack (no database, no
-- crypto). What a request costs the server before Portico does anything, on this machine.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")

local req

function init(args)
  req = wrk.format("GET", "/healthz")
end

function request()
  return req
end

done = common.done
