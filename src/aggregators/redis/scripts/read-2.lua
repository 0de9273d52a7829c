--[[
  Reads the built marker and the ready queues in one step (a reader sees the map before a swap
  or after it, never a mix).

  KEYS[1]  the ready hash ({prefix}:ready)
  KEYS[2]  the built marker ({prefix}:built): "<builtAt>:<expiresAt or empty>"

  Returns { built marker or false, { field, … } }.
]]
local built = redis.call('GET', KEYS[2])
if not built then
  return { false, {} }
end
return { built, redis.call('HKEYS', KEYS[1]) }
