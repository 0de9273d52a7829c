#!lua
--[[
  Claims up to `count` ready jobs (P-5, P-6, P-7). Due delayed jobs are moved to ready first, so
  no maintenance pass is needed for them. Ids whose stored job is missing are dropped and counted.
  Every step works on the whole batch with one multi-key command (HMGET / HSET / ZADD): a batch
  of 16 costs about as much Redis time as 3 single pops.

  KEYS[1] ready     list   popped from the tail (RPOP): FIFO
  KEYS[2] delayed   zset   id -> release time
  KEYS[3] data      hash   id -> stored job
  KEYS[4] claimed   zset   id -> claimedAt
  KEYS[5] attempts  hash   id -> claims so far
  KEYS[6] tokens    hash   id -> live claim token
  KEYS[7] dedup     hash   sha1 -> holders

  ARGV[1] now (Unix ms, the queue's clock)
  ARGV[2] count (>= 1, <= 1000)
  ARGV[3] '1' = track claims (claimTTL > 0); '0' = the pop removes the job
  ARGV[4] claim-token nonce (unique per call); tokens are nonce .. '.' .. n (also returned, not
          stored, when claims are not tracked)
  ARGV[5] the most delayed jobs to promote in this call

  Returns { missing, id_1, stored_1, attempts_1, token_1, id_2, ... }
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/promote"

local now = ARGV[1]
local want = tonumber(ARGV[2])
local track = ARGV[3] == '1'
local nonce = ARGV[4]
promote_due(KEYS[2], KEYS[1], now, tonumber(ARGV[5]))

local out = { 0 }
local n = 0
local seen = {}
while want > 0 do
  local popped = redis.call('RPOP', KEYS[1], want)
  if not popped then break end
  local blobs = redis.call('HMGET', KEYS[3], unpack(popped))
  local ids, stored, gone = {}, {}, {}
  for i, id in ipairs(popped) do
    if blobs[i] and not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
      stored[#stored + 1] = blobs[i]
    elseif not seen[id] then
      gone[#gone + 1] = id
    end
  end
  if #gone > 0 then
    out[1] = out[1] + #gone
    redis.call('HDEL', KEYS[5], unpack(gone))
    redis.call('HDEL', KEYS[6], unpack(gone))
  end
  if #ids > 0 then
    local tries = redis.call('HMGET', KEYS[5], unpack(ids))
    local attempts, tokens, claims = {}, {}, {}
    for i, id in ipairs(ids) do
      local blob = stored[i]
      dedup_drop(KEYS[7], header_sha1(blob))
      local a = (tonumber(tries[i]) or 0) + 1
      n = n + 1
      local token = nonce .. '.' .. n
      attempts[#attempts + 1] = id
      attempts[#attempts + 1] = a
      tokens[#tokens + 1] = id
      tokens[#tokens + 1] = token
      claims[#claims + 1] = now
      claims[#claims + 1] = id
      out[#out + 1] = id
      out[#out + 1] = blob
      out[#out + 1] = a
      out[#out + 1] = token
    end
    if track then
      redis.call('HSET', KEYS[5], unpack(attempts))
      redis.call('HSET', KEYS[6], unpack(tokens))
      redis.call('ZADD', KEYS[4], unpack(claims))
    else
      redis.call('HDEL', KEYS[3], unpack(ids))
      redis.call('HDEL', KEYS[5], unpack(ids))
    end
  end
  want = want - #ids
  if #popped > #ids + #gone then break end -- repeated ids: a corrupted list; stop here
end
return out
