-- release.lua: end a live order, exactly once: a second call changes nothing.
-- Optionally puts its units back where they came from (a unit whose pool has since
-- been closed follows that pool's return chain, so none is stranded), and optionally
-- refunds everything paid so far. Used for expiry, forfeit, cancel, refund and the
-- members of a failed group.
--
-- KEYS[1] pools  KEYS[2] orders  KEYS[3] holdings  KEYS[4] groups  KEYS[5] members
-- KEYS[6] stream  KEYS[7] counters  KEYS[8] deadlines  KEYS[9] progress
-- KEYS[10] leaders (zset: distributor code -> units paid through the link, net of refunds)
-- KEYS[11] warehouses (a routed order not yet shipped gives its units back to them)
-- (layouts as in reserve.lua)
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] the order's new status (e.g. "expired")
-- ARGV[4] statuses it may end from, comma-separated, or "*"
-- ARGV[5] "1": refund what was paid   ARGV[6] "1": release the units
-- ARGV[7] the deadline that fired (removed in any case), or ""
-- Reply: {"ended" | "already" | "not_allowed" | "not_found", order JSON or ""}
-- Publishes: every pool's remaining units on "<pools key>:stock" when units went back.

local now, oid, status, allowed = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local refund, release, deadline = ARGV[5] == "1", ARGV[6] == "1", ARGV[7]
if deadline ~= "" then redis.call("ZREM", KEYS[8], deadline) end

local raw = redis.call("HGET", KEYS[2], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
if order.ended then return {"already", raw} end
if allowed ~= "*" and not string.find("," .. allowed .. ",", "," .. order.status .. ",", 1, true) then
  return {"not_allowed", raw}
end

-- include: put_back

-- include: publish_stock

local function leave_group()
  local group_raw = redis.call("HGET", KEYS[4], order.group_code)
  if not group_raw then return end
  local group = cjson.decode(group_raw)
  if group.status ~= "open" then return end
  group.members = group.members - 1
  group.units = group.units - order.qty
  if order.held == "sold" then group.paid = group.paid - 1 end
  redis.call("HSET", KEYS[4], order.group_code, cjson.encode(group))
  redis.call("HDEL", KEYS[5], order.group_code .. "|" .. order.user)
  redis.call("ZADD", KEYS[9], group.members, order.group_code)
end

-- Paid units come off their distributor's count when the order ends without goods kept.
local attribution = order.attribution or {}
if order.held == "sold" and attribution.level1 and attribution.level1 ~= "" then
  redis.call("ZINCRBY", KEYS[10], -order.qty, attribution.level1)
end

if release and order.held ~= "none" then
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
  if order.group_code ~= "" then leave_group() end
  order.held = "none"
  publish_stock()
end

if order.status == "allocated" and order.route then
  for _, part in ipairs(order.route) do
    redis.call("HINCRBY", KEYS[11], part[1] .. ".free", part[2])
  end
  redis.call("HINCRBY", KEYS[11], "version", 1)
end

local refund_fen = 0
if refund then
  refund_fen = order.paid_fen - order.refunded_fen
  order.refunded_fen = order.paid_fen
end
redis.call("ZREM", KEYS[8], "pay:" .. oid, "balance:" .. oid, "aftersale:" .. oid)
order.status = status
order.ended = true
table.insert(order.history, {status, now})
local encoded = cjson.encode(order)
redis.call("HSET", KEYS[2], oid, encoded)
redis.call("XADD", KEYS[6], "*", "type", "ended", "order_id", oid, "order", encoded,
  "refund_fen", refund_fen, "reason", status)
redis.call("HINCRBY", KEYS[7], "orders." .. status, 1)
if refund_fen > 0 then redis.call("HINCRBY", KEYS[7], "refunds.fen", refund_fen) end
return {"ended", encoded}
