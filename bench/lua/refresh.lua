-- The refresh_token grant as a client really uses it: every answer carries the next refresh
-- token, which replaces the one just spent (rotation). Each wrk thread keeps a pool of tokens
-- (a disjoint share of the lines of $BENCH_TOKENS, all of the app whose Basic credentials are
-- $BENCH_BASIC); a request takes a token from the pool and its answer puts the new one back.
-- With more tokens per thread than connections the pool never runs dry while all goes well; a
-- failed answer loses its token, and should the pool be empty the request goes out with a spent
-- token, which the server refuses (counted as an error, and it revokes that token's grant).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")

local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local pool = {}
local auth, path
local last

function init(args)
  auth = os.getenv("BENCH_BASIC")
  path = os.getenv("BENCH_PATH")
  local n = tonumber(os.getenv("BENCH_THREADS"))
  for k, token in ipairs(common.lines(os.getenv("BENCH_TOKENS"))) do
    if (k - 1) % n == id then pool[#pool + 1] = token end
  end
end

function request()
  last = table.remove(pool) or last
  return common.post(path, auth, "grant_type=refresh_token&refresh_token=" .. last)
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token":"([^"]+)"')
    if token then pool[#pool + 1] = token end
  end
end

done = common.done
