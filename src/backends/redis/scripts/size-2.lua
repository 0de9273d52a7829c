#!lua flags=no-writes
--[[
  Ready count (P-17): the ready list plus the delayed jobs already due (they are ready; the next
  pop moves them). Read-only, so it also runs on a replica.

  KEYS[1] ready     list
  KEYS[2] delayed   zset   id -> release time

  ARGV[1] now (Unix ms)

  Returns the number of ready jobs
]]
return redis.call('LLEN', KEYS[1]) + redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[1])
