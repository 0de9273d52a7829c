#!lua flags=no-writes
--[[
  Ready count (P-17): the ready list and the priority set, plus the delayed jobs already due
  (they are ready; the next pop moves them), and the ready jobs of every group (O(groups with ready
  jobs), the turns list them: includes/groups). Read-only, so it also runs on a replica.

  KEYS[1] ready     list
  KEYS[2] delayed   zset   id -> release time
  KEYS[3] priority  zset   ready jobs of a non-zero priority

  ARGV[1] now (Unix ms)

  Returns the number of ready jobs
]]
local n = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[3])
  + redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[1])
local turns = string.sub(KEYS[1], 1, -6) .. 'g-turns'
if redis.call('EXISTS', turns) == 1 then
  for _, g in ipairs(redis.call('LRANGE', turns, 0, -1)) do
    if g ~= '' then n = n + redis.call('LLEN', string.sub(KEYS[1], 1, -6) .. 'g:' .. g) end
  end
end
return n
