--[[
  Moves due delayed jobs to the back of the ready list, in release order (P-5).
]]

--- Promotes up to `limit` delayed jobs whose release time is <= `now`.
-- @return how many moved
local function promote_due(delayed, ready, now, limit)
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
  local n = #due
  if n == 0 then return 0 end
  redis.call('LPUSH', ready, unpack(due))
  redis.call('ZREM', delayed, unpack(due))
  return n
end
