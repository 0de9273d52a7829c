#!lua flags=no-writes
--[[
  Ready count (P-17): the ready list and the priority set, plus the delayed jobs already due
  (they are ready; the next pop moves them). Read-only, so it also runs on a replica.

  KEYS[1] ready     list
  KEYS[2] delayed   zset   id -> release time
  KEYS[3] priority  zset   ready jobs of a non-zero priority

  ARGV[1] now (Unix ms)

  Returns the number of ready jobs
]]
return redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[3])
  + redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[1])
