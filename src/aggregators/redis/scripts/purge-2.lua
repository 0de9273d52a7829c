--[[
  Forgets the map: deletes the ready hash and the built marker together.

  KEYS[1]  the ready hash ({prefix}:ready)
  KEYS[2]  the built marker ({prefix}:built)

  Returns the number of keys deleted.
]]
return redis.call('DEL', KEYS[1], KEYS[2])
