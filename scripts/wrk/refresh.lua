-- POST /api/auth/refresh in the body form, one rotation chain per thread: each thread starts from
-- its own refresh token (line N of the file LOAD_REFRESH_FILE) and sends the token each answer
-- returns. Run it with as many connections as threads, so a chain never races itself.
local tokens = {}
for line in io.lines(os.getenv("LOAD_REFRESH_FILE")) do tokens[#tokens + 1] = line end
local next_id = 1
local threads = {}

function setup(thread)
  thread:set("token", tokens[next_id])
  next_id = next_id + 1
  table.insert(threads, thread)
end

function request()
  return wrk.format("POST", "/api/auth/refresh", { ["Content-Type"] = "application/json" },
    '{"refreshToken":"' .. token .. '"}')
end

failures = 0
function response(status, headers, body)
  local t = body:match('"refreshToken":"([^"]+)"')
  if status == 200 and t then
    token = t
  else
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("failures") end
  io.write(string.format("refresh failures: %d\n", failed))
end
