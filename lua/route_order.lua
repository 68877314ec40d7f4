-- route_order.lua: take an order's units from the warehouses a route names, atomically.
-- The route is planned outside (server/domain/routing.py) from the free units at some
-- version of the warehouses hash; a plan made at an older version is refused as "stale"
-- and planned again, so what ships is what the rules pick, and no warehouse goes below
-- zero. An ops override passes version "" and may move an order already allocated: its
-- old units go back first.
--
-- KEYS[1] orders  KEYS[2] warehouses  KEYS[3] stream  KEYS[4] groups
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] version the plan was made at, or ""
-- ARGV[4..] pairs of warehouse code, units (they add up to the order's units)
-- Reply: {"routed" | "stale" | "short" | "not_allowed" | "no_address" | "group_open"
--         | "not_found", order JSON or ""}

local now, oid, version = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local raw = redis.call("HGET", KEYS[1], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
local override = version == ""
if order.ended or not (order.status == "paid" or (override and order.status == "allocated")) then
  return {"not_allowed", raw}
end
if not order.region or order.region == "" then return {"no_address", raw} end
if order.group_code ~= "" then
  local group = redis.call("HGET", KEYS[4], order.group_code)
  if not group or cjson.decode(group).status ~= "formed" then return {"group_open", raw} end
end
if not override and redis.call("HGET", KEYS[2], "version") ~= version then
  return {"stale", ""}
end

local plan, units, seen = {}, 0, {}
for i = 4, #ARGV, 2 do
  local code, take = ARGV[i], tonumber(ARGV[i + 1])
  if seen[code] or not take or take <= 0 or not redis.call("HGET", KEYS[2], code .. ".stock") then
    return {"not_allowed", raw}
  end
  seen[code] = true
  table.insert(plan, {code, take})
  units = units + take
end
if units ~= order.qty then return {"not_allowed", raw} end

-- An override gives the old route back before taking the new one.
local previous = order.route or {}
for _, part in ipairs(previous) do
  redis.call("HINCRBY", KEYS[2], part[1] .. ".free", part[2])
end
for _, part in ipairs(plan) do
  if tonumber(redis.call("HGET", KEYS[2], part[1] .. ".free")) < part[2] then
    for _, back in ipairs(previous) do  -- undo: nothing changes on a refusal
      redis.call("HINCRBY", KEYS[2], back[1] .. ".free", -back[2])
    end
    return {"short", ""}
  end
end
for _, part in ipairs(plan) do
  redis.call("HINCRBY", KEYS[2], part[1] .. ".free", -part[2])
end
redis.call("HINCRBY", KEYS[2], "version", 1)

order.route = plan
order.warehouse = plan[1][1]
if order.status ~= "allocated" then
  order.status = "allocated"
  table.insert(order.history, {"allocated", now})
end
local encoded = cjson.encode(order)
redis.call("HSET", KEYS[1], oid, encoded)
redis.call("XADD", KEYS[3], "*", "type", "routed", "order_id", oid, "order", encoded,
  "override", override and "1" or "0")
return {"routed", encoded}
