--[[
  Swaps in a rebuilt map. The caller wrote the new map into a temporary hash (every field at
  builtAt); this script adds the marks made after builtAt (pushes during the rebuild), renames
  the temporary hash over the ready hash and sets the built marker, all at once.

  KEYS[1]  the ready hash ({prefix}:ready)
  KEYS[2]  the built marker ({prefix}:built)
  KEYS[3]  the temporary hash ({prefix}:tmp:<random>), possibly absent (an empty map)
  ARGV[1]  builtAt, epoch ms
  ARGV[2]  the built marker's value: "<builtAt>:<expiresAt or empty>"

  Returns the number of marks newer than builtAt that were kept.
]]
local builtAt = tonumber(ARGV[1])
local current = redis.call('HGETALL', KEYS[1])
local kept = 0
for i = 1, #current, 2 do
  if tonumber(current[i + 1]) > builtAt then
    redis.call('HSET', KEYS[3], current[i], current[i + 1])
    kept = kept + 1
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RENAME', KEYS[3], KEYS[1])
  redis.call('PERSIST', KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
redis.call('SET', KEYS[2], ARGV[2])
return kept
