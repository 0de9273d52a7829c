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

  Also the flow-control group keys (includes/groups): every group list in the turns (a group
  with ready jobs is in them), the turns, the claims held and the rate windows; and the flow keys
  (includes/flow): the waiting set and the links.

  Returns the number of keys deleted
]]
local base = string.sub(KEYS[1], 1, -6)
local deleted = 0
local turns = redis.call('LRANGE', base .. 'g-turns', 0, -1)
for _, g in ipairs(turns) do
  if g ~= '' then deleted = deleted + redis.call('DEL', base .. 'g:' .. g) end
end
deleted = deleted + redis.call('DEL', base .. 'g-turns', base .. 'g-held', base .. 'g-rate', base .. 'g-window')
deleted = deleted + redis.call('DEL', base .. 'waiting', base .. 'f-pending', base .. 'f-policy', base .. 'f-dependents')
return deleted + redis.call('DEL', unpack(KEYS))
