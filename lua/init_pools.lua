-- init_pools.lua: set a campaign's pools from its configuration. Before the first
-- order the pools are (re)set freely; once an order exists the pools are locked
-- and only the same pools with the same quotas are accepted.
--
-- KEYS[1] pools  KEYS[2] meta ("seq": orders placed, "pools": the pools' signature)
-- ARGV[1] signature ("name=quota,..." in configuration order), then pairs of name, quota
-- Reply: "set" | "unchanged" | "locked"
-- Publishes: every pool's remaining units on "<pools key>:stock" when the pools are set.

-- include: publish_stock

local COUNTERS = {"reserved", "sold", "borrowed", "lent", "moved_in", "moved_out"}
local signature = ARGV[1]
local orders = tonumber(redis.call("HGET", KEYS[2], "seq") or "0")

if orders > 0 then
  if redis.call("HGET", KEYS[2], "pools") == signature then return "unchanged" end
  return "locked"
end

redis.call("DEL", KEYS[1])
for i = 2, #ARGV, 2 do
  local name, quota = ARGV[i], ARGV[i + 1]
  redis.call("HSET", KEYS[1], name .. ".quota", quota, name .. ".remaining", quota)
  for _, counter in ipairs(COUNTERS) do
    redis.call("HSET", KEYS[1], name .. "." .. counter, 0)
  end
end
redis.call("HSET", KEYS[2], "pools", signature)
publish_stock()
return "set"
