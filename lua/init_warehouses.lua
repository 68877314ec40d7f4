-- init_warehouses.lua: make the warehouses' units what the campaign file says, atomically.
-- A new warehouse gets its units; an existing one moves by the difference (stock and free
-- together), which is refused when it would take away units already routed or shipped; a
-- warehouse the file no longer names is removed only if it never routed a unit. All or
-- nothing: the checks run before anything changes.
--
-- KEYS[1] warehouses (hash: "<code>.stock", "<code>.free", "<code>.shipped", "version")
-- ARGV: pairs of warehouse code, units
-- Reply: {"set", changed} | {"short", code, units committed} | {"in_use", code}

local wanted, order = {}, {}
for i = 1, #ARGV, 2 do
  wanted[ARGV[i]] = tonumber(ARGV[i + 1])
  table.insert(order, ARGV[i])
end
local function count(code, field)
  return tonumber(redis.call("HGET", KEYS[1], code .. "." .. field) or "0")
end

for _, code in ipairs(order) do  -- check: every change keeps free >= 0
  if redis.call("HEXISTS", KEYS[1], code .. ".stock") == 1 then
    local delta = wanted[code] - count(code, "stock")
    if count(code, "free") + delta < 0 then
      return {"short", code, tostring(count(code, "stock") - count(code, "free"))}
    end
  end
end
local existing = {}
for _, field in ipairs(redis.call("HKEYS", KEYS[1])) do
  local code = string.match(field, "^(.+)%.stock$")
  if code and not wanted[code] then
    if count(code, "free") ~= count(code, "stock") then return {"in_use", code} end
    table.insert(existing, code)
  end
end

local changed = 0
for _, code in ipairs(order) do
  if redis.call("HSETNX", KEYS[1], code .. ".stock", wanted[code]) == 1 then
    redis.call("HSET", KEYS[1], code .. ".free", wanted[code], code .. ".shipped", 0)
    changed = changed + 1
  else
    local delta = wanted[code] - count(code, "stock")
    if delta ~= 0 then
      redis.call("HINCRBY", KEYS[1], code .. ".stock", delta)
      redis.call("HINCRBY", KEYS[1], code .. ".free", delta)
      changed = changed + 1
    end
  end
end
for _, code in ipairs(existing) do
  redis.call("HDEL", KEYS[1], code .. ".stock", code .. ".free", code .. ".shipped")
  changed = changed + 1
end
if changed > 0 then redis.call("HINCRBY", KEYS[1], "version", 1) end
return {"set", changed}
