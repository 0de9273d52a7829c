--[[
  The stored-job header. Every value of the data hash is
    1|<sha1>|<releaseTimestamp>|<enqueuedAt>|<encoding>|<payload>              (priority 0)
    2|<priority>|<sha1>|<releaseTimestamp>|<enqueuedAt>|<encoding>|<payload>   (other priorities)
    3|<priority>|<group>|<sha1>|<releaseTimestamp>|<enqueuedAt>|<encoding>|<payload>   (a groupKey)
  where sha1 is empty unless the job was pushed with removeDuplicates, releaseTimestamp is empty
  unless the job is (or was) delayed, and encoding is `j` (JSON) or `z` (base64 of gzip'd JSON).
  Scripts read only the header fields; the payload belongs to the TypeScript codec (codec.ts).
  A value that does not parse is treated as a priority-0 job without a dedup key and is never
  rewritten: a corrupted job must not make a script fail (that would be a crash loop for every
  popper). <group> is the job's groupKey escaped (keys.ts groupPart: no `|`), used as is in the
  group's key names and hash fields (includes/groups).
]]

--- Parses the header of a stored job.
-- @return sha1, releaseTimestamp, enqueuedAt, index of the `|` before the encoding, and the
--   header's prefix up to the sha1 (`1|` or `2|<priority>|`); nil when malformed
local function header_parse(blob)
  if type(blob) ~= 'string' then return nil end
  local start
  local version = string.sub(blob, 1, 2)
  if version == '1|' then
    start = 3
  elseif version == '2|' then
    local p0 = string.find(blob, '|', 3, true)
    if not p0 then return nil end
    start = p0 + 1
  elseif version == '3|' then
    local p0 = string.find(blob, '|', 3, true)
    if not p0 then return nil end
    local pg = string.find(blob, '|', p0 + 1, true)
    if not pg then return nil end
    start = pg + 1
  else
    return nil
  end
  local p1 = string.find(blob, '|', start, true)
  if not p1 then return nil end
  local p2 = string.find(blob, '|', p1 + 1, true)
  if not p2 then return nil end
  local p3 = string.find(blob, '|', p2 + 1, true)
  if not p3 then return nil end
  return string.sub(blob, start, p1 - 1), string.sub(blob, p1 + 1, p2 - 1), string.sub(blob, p2 + 1, p3 - 1),
    p3, string.sub(blob, 1, start - 1)
end

--- The dedup key of a stored job, or nil (no key, or a malformed header).
local function header_sha1(blob)
  -- Fast path: most jobs have priority 0 and no dedup key (an empty first field).
  if type(blob) == 'string' and string.sub(blob, 1, 3) == '1||' then return nil end
  local sha1 = header_parse(blob)
  if sha1 == nil or sha1 == '' then return nil end
  return sha1
end

--- The priority of a stored job: 0 for a version-1 header (one byte compared) or a malformed one.
local function header_priority(blob)
  if type(blob) ~= 'string' then return 0 end
  local v = string.byte(blob, 1)
  if v ~= 50 and v ~= 51 then return 0 end -- 50 = '2', 51 = '3'
  local p0 = string.find(blob, '|', 3, true)
  return (p0 and tonumber(string.sub(blob, 3, p0 - 1))) or 0
end

--- The (escaped) group of a stored job, or nil: versions 1 and 2 (one byte compared), malformed.
local function header_group(blob)
  if type(blob) ~= 'string' or string.byte(blob, 1) ~= 51 then return nil end -- 51 = '3'
  local p0 = string.find(blob, '|', 3, true)
  if not p0 then return nil end
  local pg = string.find(blob, '|', p0 + 1, true)
  if not pg or pg == p0 + 1 then return nil end
  return string.sub(blob, p0 + 1, pg - 1)
end

--- The stored job with new release and enqueue times, or nil when the header is malformed.
local function header_rewrite(blob, release, enqueued)
  local sha1, _, old_enqueued, p3, prefix = header_parse(blob)
  if sha1 == nil then return nil end
  return prefix .. sha1 .. '|' .. release .. '|' .. (enqueued or old_enqueued) .. string.sub(blob, p3)
end
