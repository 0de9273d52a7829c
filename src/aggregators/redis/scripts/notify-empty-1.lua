--[[
  Removes one queue's non-empty mark iff it is strictly older than the observed emptiness
  ("non-empty wins": a mark made at or after the observation survives).

  KEYS[1]  the ready hash ({prefix}:ready)
  ARGV[1]  the queue's field
  ARGV[2]  observedAt, epoch ms (when the caller's empty pop started)

  Returns 1 when the mark was removed, 0 otherwise.
]]
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(current) < tonumber(ARGV[2]) then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
