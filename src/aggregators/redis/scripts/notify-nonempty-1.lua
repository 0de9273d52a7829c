--[[
  Marks one queue non-empty, keeping the newer of the stored and the given time.

  KEYS[1]  the ready hash ({prefix}:ready): field → epoch ms of the latest non-empty mark
  ARGV[1]  the queue's field (see fieldOf() in ../index.ts)
  ARGV[2]  now, epoch ms (the caller's clock)

  Returns 1 when the mark was written, 0 when a newer one was kept.
]]
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(current) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
