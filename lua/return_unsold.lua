-- return_unsold.lua: move a pool's unsold units into another pool and close it
-- (the presale reserve joining the shared pool when presale ends). Exactly once.
--
-- KEYS[1] pools  KEYS[2] stream  KEYS[3] counters
-- ARGV[1] now (ms)  ARGV[2] pool  ARGV[3] target pool
-- Reply: {"returned", units moved} | {"already", 0}
-- Publishes: every pool's remaining units on "<pools key>:stock".

-- include: publish_stock

local pool, target = ARGV[2], ARGV[3]
if redis.call("HEXISTS", KEYS[1], pool .. ".returned_to") == 1 then return {"already", 0} end
local units = tonumber(redis.call("HGET", KEYS[1], pool .. ".remaining") or "0")
-- Only when units > 0: Lua turns -0 into "-0", which Redis 7.0's HINCRBY refuses.
if units > 0 then
  redis.call("HINCRBY", KEYS[1], pool .. ".remaining", -units)
  redis.call("HINCRBY", KEYS[1], pool .. ".moved_out", units)
  redis.call("HINCRBY", KEYS[1], target .. ".remaining", units)
  redis.call("HINCRBY", KEYS[1], target .. ".moved_in", units)
end
redis.call("HSET", KEYS[1], pool .. ".returned_to", target)
redis.call("XADD", KEYS[2], "*", "type", "pool_returned", "pool", pool, "target", target,
  "units", units, "at_ms", ARGV[1])
redis.call("HINCRBY", KEYS[3], "pools.returned_units", units)
publish_stock()
return {"returned", units}
