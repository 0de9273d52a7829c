#!lua
--[[
  Moves due delayed jobs to ready (for listing, so a due job is listed as ready as it would pop).

  KEYS[1] delayed   zset   id -> release time
  KEYS[2] ready     list
  KEYS[3] data      hash   id -> stored job (its header holds the priority)
  KEYS[4] priority  zset   ready jobs of a non-zero priority (includes/priority)
  KEYS[5] priority-seq string
  KEYS[6] delayed-high set  ids of delayed jobs of a positive priority

  ARGV[1] now (Unix ms)
  ARGV[2] limit

  Returns how many moved
]]
--- @include "includes/header"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/promote"

return promote_due(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[1], tonumber(ARGV[2]))
