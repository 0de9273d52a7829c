#!lua
--[[
  Registers a root job (P-14): keeps the newest timestamp per signature. The record's lifetime
  follows the queue's clock (stored as expiresAt and checked on read), and a Redis TTL of the
  same length deletes it eventually. A logically expired record counts as absent.

  KEYS[1] root      string "timestamp|expiresAt"

  ARGV[1] root timestamp (Unix ms)
  ARGV[2] now (Unix ms)
  ARGV[3] expiresAt (Unix ms) = now + rootJobTTL
  ARGV[4] TTL in ms (for PX)

  Returns 1 = stored, 0 = a newer root is registered (kept)
]]
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, '|', 1, true)
  if sep then
    local ts = tonumber(string.sub(current, 1, sep - 1))
    local expires = tonumber(string.sub(current, sep + 1))
    if ts and expires and expires > tonumber(ARGV[2]) and ts > tonumber(ARGV[1]) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[3], 'PX', ARGV[4])
return 1
