#!lua
--[[
  Deletes every job of one queue in every state, and its dedup keys (P-18). Root-job records are
  kept (they belong to the root, not to the queued jobs), as in the memory backend.

  KEYS[1] ready     list
  KEYS[2] delayed   zset
  KEYS[3] claimed   zset
  KEYS[4] abandoned zset
  KEYS[5] data      hash
  KEYS[6] attempts  hash
  KEYS[7] tokens    hash
  KEYS[8] dedup     hash
  KEYS[9] priority  zset
  KEYS[10] priority-seq string
  KEYS[11] delayed-high set

  Returns the number of keys deleted
]]
return redis.call('DEL', unpack(KEYS))
