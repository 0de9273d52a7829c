#!lua
--[[
  Claims up to `count` ready jobs (P-5, P-6, P-7). Due delayed jobs are moved to ready first, so
  no maintenance pass is needed for them. Ids whose stored job is missing are dropped and counted
  (includes/claim.lua). A paused queue (KEYS[8] exists) claims nothing and promotes nothing.

  KEYS[1] ready     list   priority-0 ids, popped from the tail (RPOP): FIFO
  KEYS[2] delayed   zset   id -> release time
  KEYS[3] data      hash   id -> stored job
  KEYS[4] claimed   zset   id -> claimedAt
  KEYS[5] attempts  hash   id -> claims so far
  KEYS[6] tokens    hash   id -> live claim token
  KEYS[7] dedup     hash   sha1 -> holders
  KEYS[8] paused    string exists while the queue is paused (pause())
  KEYS[9] priority  zset   id -> score: jobs of other priorities (includes/priority), popped around
                           the list: positive priorities before it, negative ones after
  KEYS[10] priority-seq string INCR'd for the scores of promoted jobs
  KEYS[11] delayed-high set  ids of delayed jobs of a positive priority

  ARGV[1] now (Unix ms, the queue's clock)
  ARGV[2] count (>= 1, <= 1000)
  ARGV[3] '1' = track claims (claimTTL > 0); '0' = the pop removes the job
  ARGV[4] claim-token nonce (unique per call); tokens are nonce .. '.' .. n (also returned, not
          stored, when claims are not tracked)
  ARGV[5] the most delayed jobs to promote in this call
  ARGV[6] the queue's groupLimits ('' = none; see claim_grouped in includes/claim)

  While grouped jobs are ready the groups pop in turn, each within its limits (includes/groups).

  Returns { missing, id_1, stored_1, attempts_1, token_1, id_2, ... }
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/promote"
--- @include "includes/claim"

if redis.call('EXISTS', KEYS[8]) == 1 then return { 0 } end
promote_due(KEYS[2], KEYS[1], KEYS[3], KEYS[9], KEYS[10], KEYS[11], ARGV[1], tonumber(ARGV[5]))
local out = { 0 }
claim_any(KEYS, ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1', ARGV[4], out, 0, ARGV[6] or '')
return out
