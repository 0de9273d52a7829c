#!lua
--[[
  Acks claimed jobs, then claims ready ones, in one round trip: the group commit of concurrent
  `ack()` and `pop()` calls on one handle, and the refill of its prefetch buffer. The acks are
  exactly ack-4's (P-8, P-11: fenced by the claim token); the claims exactly pop-11's (P-5, P-6,
  P-7: due delayed jobs are promoted first). With nothing to claim it only acks.

  KEYS[1] ready     list   priority-0 ids, popped from the tail (RPOP): FIFO
  KEYS[2] delayed   zset   id -> release time
  KEYS[3] data      hash   id -> stored job
  KEYS[4] claimed   zset   id -> claimedAt
  KEYS[5] attempts  hash   id -> claims so far
  KEYS[6] tokens    hash   id -> live claim token
  KEYS[7] dedup     hash   sha1 -> holders
  KEYS[8] paused    string exists while the queue is paused: the acks happen, nothing is claimed
  KEYS[9] priority  zset   id -> score: jobs of other priorities (see pop-11)
  KEYS[10] priority-seq string INCR'd for the scores of promoted jobs
  KEYS[11] delayed-high set  ids of delayed jobs of a positive priority

  ARGV[1] now (Unix ms, the queue's clock)
  ARGV[2] count of jobs to claim (>= 0, <= 1000)
  ARGV[3] '1' = track claims (claimTTL > 0); '0' = the pop removes the job
  ARGV[4] claim-token nonce (unique per call); tokens are nonce .. '.' .. n
  ARGV[5] the most delayed jobs to promote in this call
  ARGV[6] extra: jobs to claim ahead (prefetch) after the `count` ones, >= 0, count + extra <= 1000;
          these stop at the first job with a dedup key (it stays ready, holding its key) and take
          only priority-0 jobs, none while a job of a positive priority is ready or delayed (a
          buffered job must not be overtaken by one that would pop before it: see claim_ready)
  ARGV[7] n, the number of acks (<= 1000)
  ARGV[9 + 2i], ARGV[10 + 2i]   id and claim token of ack i (i from 0)

  Returns { missing, n, ack_1 .. ack_n, id_1, stored_1, attempts_1, token_1, id_2, ... }
          ack_i: 1 = acked, 2 = acked and jobs waiting on it became ready, 0 = the claim was not
          held; the first jobs answer the `count` pops,
          the rest are the extra ones; missing: ready ids without a stored job (dropped)
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/flow"
--- @include "includes/promote"
--- @include "includes/claim"
--- @include "includes/ack"

local acks = tonumber(ARGV[7])
local out = { 0, acks }
ack_claims(KEYS[6], KEYS[4], KEYS[3], KEYS[5], ARGV, 9, acks, out)
local want, extra = tonumber(ARGV[2]), tonumber(ARGV[6])
if want + extra > 0 and redis.call('EXISTS', KEYS[8]) == 0 then
  local track = ARGV[3] == '1'
  promote_due(KEYS[2], KEYS[1], KEYS[3], KEYS[9], KEYS[10], KEYS[11], ARGV[1], tonumber(ARGV[5]))
  local n = claim_any(KEYS, ARGV[1], want, track, ARGV[4], out, 0, ARGV[8])
  if extra > 0 and redis.call('EXISTS', KEYS[11]) == 0
    and redis.call('EXISTS', group_base(KEYS[1]) .. 'g-turns') == 0 then
    claim_ready(KEYS, ARGV[1], extra, track, ARGV[4], out, n, true)
  end
end
return out
