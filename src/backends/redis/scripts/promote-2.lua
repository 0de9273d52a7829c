#!lua
--[[
  Moves due delayed jobs to ready (for listing, so a due job is listed as ready as it would pop).

  KEYS[1] delayed   zset   id -> release time
  KEYS[2] ready     list

  ARGV[1] now (Unix ms)
  ARGV[2] limit

  Returns how many moved
]]
--- @include "includes/promote"

return promote_due(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]))
