#!lua
--[[
  Lifts a pause (resume()): deletes the paused flag and, when the flag was set and jobs are
  ready (the ready list, the priority set, a group's list, or delayed jobs already due), publishes on the wake
  channel so waiting runners pop at once instead of at their next poll.

  KEYS[1] paused    string
  KEYS[2] ready     list
  KEYS[3] delayed   zset   id -> release time
  KEYS[4] priority  zset   ready jobs of a non-zero priority

  ARGV[1] now (Unix ms, the queue's clock)

  Returns 1 when the queue was paused, else 0
]]
--- @include "includes/wake"

local was = redis.call('DEL', KEYS[1])
if
  was == 1
  and (redis.call('EXISTS', KEYS[2], KEYS[4], string.sub(KEYS[2], 1, -6) .. 'g-turns') > 0 or redis.call('ZCOUNT', KEYS[3], '-inf', ARGV[1]) > 0)
then
  wake(KEYS[2])
end
return was
