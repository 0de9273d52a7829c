#!lua
--[[
  Renews a claim: sets its claim time to now iff the token still holds it (P-12, P-11).

  KEYS[1] tokens    hash   id -> live claim token
  KEYS[2] claimed   zset   id -> claimedAt

  ARGV[1] id
  ARGV[2] claim token
  ARGV[3] now (Unix ms)

  Returns 1 = renewed, 0 = the claim was not held
]]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[1])
return 1
