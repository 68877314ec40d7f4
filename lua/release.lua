-- release.lua: end a live order and put its units back where they came from,
-- exactly once: a second call for the same order changes nothing.
-- A unit whose pool has since been closed (its unsold units returned elsewhere)
-- follows that pool's return chain, so no unit is stranded in a closed pool.
--
-- KEYS[1] pools  KEYS[2] orders  KEYS[3] holdings  KEYS[4] groups  KEYS[5] members
-- KEYS[6] stream  KEYS[7] counters   (layouts as in reserve.lua)
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] the order's new status (e.g. "expired")
-- Reply: {"released", order JSON} | {"already", order JSON} | {"not_found", ""}

local now, oid, status = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local raw = redis.call("HGET", KEYS[2], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
if order.held == "none" then return {"already", raw} end

local function returned_to(pool)
  return redis.call("HGET", KEYS[1], pool .. ".returned_to")
end

local function put_back(pool, units)
  local forward = returned_to(pool)
  local hops = 0
  while forward and hops < 16 do
    redis.call("HINCRBY", KEYS[1], pool .. ".moved_out", units)
    redis.call("HINCRBY", KEYS[1], forward .. ".moved_in", units)
    pool, forward, hops = forward, returned_to(forward), hops + 1
  end
  redis.call("HINCRBY", KEYS[1], pool .. ".remaining", units)
end

for _, part in ipairs(order.alloc) do
  local source, units = part[1], part[2]
  redis.call("HINCRBY", KEYS[1], source .. "." .. order.held, -units)
  if source ~= order.pool then
    redis.call("HINCRBY", KEYS[1], order.pool .. ".borrowed", -units)
    redis.call("HINCRBY", KEYS[1], source .. ".lent", -units)
  end
  put_back(source, units)
end

redis.call("HINCRBY", KEYS[3], order.user .. "|" .. order.mode, -order.qty)
if order.group_code ~= "" then
  local group_raw = redis.call("HGET", KEYS[4], order.group_code)
  if group_raw then
    local group = cjson.decode(group_raw)
    if group.status == "open" then
      group.members = group.members - 1
      group.units = group.units - order.qty
      redis.call("HSET", KEYS[4], order.group_code, cjson.encode(group))
      redis.call("HDEL", KEYS[5], order.group_code .. "|" .. order.user)
    end
  end
end

order.held = "none"
order.status = status
order.released_at_ms = now
local encoded = cjson.encode(order)
redis.call("HSET", KEYS[2], oid, encoded)
redis.call("XADD", KEYS[6], "*", "type", "released", "order_id", oid, "order", encoded)
redis.call("HINCRBY", KEYS[7], "orders.released", 1)
return {"released", encoded}
