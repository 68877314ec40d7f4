-- adjust_group_price.lua: after its group formed, refund a paid member the difference
-- between what each unit cost at the entry tier and the price the group reached.
-- Exactly once per order; unpaid or ended orders are left to their own deadlines.
--
-- KEYS[1] orders  KEYS[2] groups  KEYS[3] deadlines  KEYS[4] stream  KEYS[5] counters
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] the deadline that fired
-- Reply: {"adjusted" | "unchanged" | "not_found", order JSON or ""}

local now, oid = tonumber(ARGV[1]), ARGV[2]
redis.call("ZREM", KEYS[3], ARGV[3])
local raw = redis.call("HGET", KEYS[1], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
if order.ended or order.held ~= "sold" or order.final_unit_price_fen then
  return {"unchanged", raw}
end
local group = cjson.decode(redis.call("HGET", KEYS[2], order.group_code))
if group.status ~= "formed" or not group.price_fen then return {"unchanged", raw} end

local refund_fen = math.max(0, (order.unit_price_fen - group.price_fen) * order.qty)
order.final_unit_price_fen = order.unit_price_fen - refund_fen / order.qty
order.refunded_fen = order.refunded_fen + refund_fen
local encoded = cjson.encode(order)
redis.call("HSET", KEYS[1], oid, encoded)
redis.call("XADD", KEYS[4], "*", "type", "price_adjusted", "order_id", oid, "order", encoded,
  "refund_fen", refund_fen, "reason", "group_tier")
if refund_fen > 0 then redis.call("HINCRBY", KEYS[5], "refunds.fen", refund_fen) end
return {"adjusted", encoded}
