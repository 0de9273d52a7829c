#!lua
--[[
  Acknowledges claimed jobs: deletes each job iff the given token still holds its claim (P-8,
  P-11). A stale token (the claim was recycled, released, abandoned or acked) changes nothing.
  The batch is checked with one HMGET and settled with one multi-key command per key
  (includes/ack.lua); a job listed twice acks once, as two acks in a row would.

  KEYS[1] tokens    hash   id -> live claim token
  KEYS[2] claimed   zset   id -> claimedAt
  KEYS[3] data      hash   id -> stored job
  KEYS[4] attempts  hash   id -> claims so far

  ARGV[2i - 1], ARGV[2i]   id and claim token of job i (at most 1000 jobs)

  Returns { 2 | 1 | 0 per job }   1 = acked, 2 = acked and jobs waiting on it became ready,
                                  0 = the claim was not held
]]
--- @include "includes/header"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/flow"
--- @include "includes/ack"

local out = {}
ack_claims(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV, 1, #ARGV / 2, out)
return out
