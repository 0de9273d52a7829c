#!lua
--[[
  Acknowledges claimed jobs: deletes each job iff the given token still holds its claim (P-8,
  P-11). A stale token (the claim was recycled, released, abandoned or acked) changes nothing.
  The batch is checked with one HMGET and settled with one multi-key command per key; a job
  listed twice acks once, as two acks in a row would.

  KEYS[1] tokens    hash   id -> live claim token
  KEYS[2] claimed   zset   id -> claimedAt
  KEYS[3] data      hash   id -> stored job
  KEYS[4] attempts  hash   id -> claims so far

  ARGV[2i - 1], ARGV[2i]   id and claim token of job i (at most 1000 jobs)

  Returns { 1 | 0 per job }   1 = acked, 0 = the claim was not held
]]
local ids = {}
for i = 1, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local live = redis.call('HMGET', KEYS[1], unpack(ids))
local out, held, done = {}, {}, {}
for i, id in ipairs(ids) do
  if live[i] and live[i] == ARGV[2 * i] and not done[id] then
    done[id] = true
    held[#held + 1] = id
    out[i] = 1
  else
    out[i] = 0
  end
end
if #held > 0 then
  redis.call('HDEL', KEYS[1], unpack(held))
  redis.call('ZREM', KEYS[2], unpack(held))
  redis.call('HDEL', KEYS[3], unpack(held))
  redis.call('HDEL', KEYS[4], unpack(held))
end
return out
