-- init_warehouses.lua: give each configured warehouse its units, once. A warehouse that
-- already has a stock keeps it (and what it has routed): a reinstalled campaign file never
-- resets the physical count; ops change it by an adjustment.
--
-- KEYS[1] warehouses (hash: "<code>.stock", "<code>.free", "<code>.shipped", "version")
-- ARGV: pairs of warehouse code, units
-- Reply: how many warehouses were new

local added = 0
for i = 1, #ARGV, 2 do
  local code, units = ARGV[i], ARGV[i + 1]
  if redis.call("HSETNX", KEYS[1], code .. ".stock", units) == 1 then
    redis.call("HSET", KEYS[1], code .. ".free", units, code .. ".shipped", 0)
    added = added + 1
  end
end
if added > 0 then redis.call("HINCRBY", KEYS[1], "version", 1) end
return added
