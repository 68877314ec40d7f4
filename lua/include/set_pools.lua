-- Shared by the scripts that set a campaign's pools from its configuration (init_pools,
-- install_campaign). Before the first order the pools are (re)set freely; once an order
-- exists they are locked and only the same pools with the same quotas are accepted.
-- Expects KEYS[1] pools and KEYS[2] meta ("seq": the last order number, 0
-- before the first; "pools": the signature).
-- set_pools(signature, first): pairs of name, quota from ARGV[first] on.
-- Returns "set" | "unchanged" | "locked".
local function set_pools(signature, first)
  -- ("sent" and "received", units lent between stock buckets, are made by their first loan:
  -- the fewer fields, the quicker the hash's reads in reserve.lua)
  local counters = {"reserved", "sold", "borrowed", "lent", "moved_in", "moved_out"}
  local orders = tonumber(redis.call("HGET", KEYS[2], "seq") or "0")
  if orders > 0 then
    if redis.call("HGET", KEYS[2], "pools") == signature then return "unchanged" end
    return "locked"
  end
  redis.call("DEL", KEYS[1])
  for i = first, #ARGV, 2 do
    local name, quota = ARGV[i], ARGV[i + 1]
    redis.call("HSET", KEYS[1], name .. ".quota", quota, name .. ".remaining", quota)
    for _, counter in ipairs(counters) do
      redis.call("HSET", KEYS[1], name .. "." .. counter, 0)
    end
  end
  redis.call("HSET", KEYS[2], "pools", signature)
  publish_stock()
  return "set"
end
