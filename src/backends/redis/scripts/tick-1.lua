#!lua
--[[
  Claims a periodic tick (claimPeriodicTick): compare-and-set of the schedule's last tick, so of
  many processes asking for the same tick exactly one gets 1, and a tick earlier than (or equal
  to) the stored one is refused.

  KEYS[1] ticks     hash   schedule name -> last tick claimed (Unix ms)

  ARGV[1] schedule name
  ARGV[2] tick (Unix ms)

  Returns 1 when claimed, else 0
]]
local last = redis.call('HGET', KEYS[1], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
