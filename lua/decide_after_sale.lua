-- decide_after_sale.lua: ops approve (a refund, some units perhaps back in stock) or reject
-- an order's open after-sale request, exactly once; the after-sale period resumes.
-- Restocked units go back the way they came: to the warehouses the order shipped from (the
-- last ones first) and to the pools it was sold from (following a closed pool's return
-- chain), sellable again. The checks on amounts are server/domain/after_sale.py's; this
-- script refuses what would break an invariant whatever it is told.
--
-- KEYS[1] pools  KEYS[2] orders  KEYS[3] deadlines  KEYS[4] stream  KEYS[5] counters
-- KEYS[6] warehouses  KEYS[7] leaders  KEYS[8] after_sales (request id -> JSON)
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] request id  ARGV[4] "approve" | "reject"
-- ARGV[5] refund (fen)  ARGV[6] units refunded  ARGV[7] of them back in stock
-- ARGV[8] the decision as JSON (who, why), kept with the request
-- Reply: {"decided" | "not_found" | "not_open" | "too_much", order JSON or ""}

local now, oid, rid, verdict = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local refund, units, restock = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local raw = redis.call("HGET", KEYS[2], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
if order.ended or order.status ~= "delivered" or order.aftersale_open ~= rid then
  return {"not_open", raw}
end

-- include: put_back
-- include: publish_stock

if verdict == "approve" then
  local refunded_units = (order.aftersale_units or 0) + units
  if refund <= 0 or order.refunded_fen + refund > order.paid_fen or refunded_units >= order.qty
    or restock > units then
    return {"too_much", raw}
  end
  order.refunded_fen = order.refunded_fen + refund
  order.aftersale_fen = (order.aftersale_fen or 0) + refund
  order.aftersale_units = refunded_units
  local attribution = order.attribution or {}
  if units > 0 and attribution.level1 and attribution.level1 ~= "" then
    redis.call("ZINCRBY", KEYS[7], -units, attribution.level1)
  end
  if restock > 0 then
    local left = restock  -- pools: the order's allocation, the last part first
    for i = #order.alloc, 1, -1 do
      local part = order.alloc[i]
      local take = math.min(left, part[2])
      if take > 0 then
        redis.call("HINCRBY", KEYS[1], part[1] .. ".sold", -take)
        if part[1] ~= order.pool then
          redis.call("HINCRBY", KEYS[1], order.pool .. ".borrowed", -take)
          redis.call("HINCRBY", KEYS[1], part[1] .. ".lent", -take)
        end
        put_back(part[1], take)
        part[2] = part[2] - take
        left = left - take
      end
    end
    order.restocked = order.restocked or {}
    left = restock  -- warehouses: where it shipped from, the last part first
    for i = #(order.route or {}), 1, -1 do
      local part = order.route[i]
      local already = 0
      for _, back in ipairs(order.restocked) do
        if back[1] == part[1] then already = already + back[2] end
      end
      local take = math.min(left, part[2] - already)
      if take > 0 then
        redis.call("HINCRBY", KEYS[6], part[1] .. ".shipped", -take)
        redis.call("HINCRBY", KEYS[6], part[1] .. ".free", take)
        table.insert(order.restocked, {part[1], take})
        left = left - take
      end
    end
    if order.route then redis.call("HINCRBY", KEYS[6], "version", 1) end
    publish_stock()
  end
  redis.call("HINCRBY", KEYS[5], "refunds.fen", refund)
else
  refund, units, restock = 0, 0, 0
end

order.aftersale_open = ""
local decision = cjson.decode(ARGV[8])
-- The buyer reads the latest decision with their order.
order.aftersale_last = {verdict = verdict, reason = decision.reason or "", at = now}
local due = math.max(order.aftersale_due or now, now)
redis.call("ZADD", KEYS[3], due, "aftersale:" .. oid)
local request = cjson.decode(redis.call("HGET", KEYS[8], rid) or "{}")
request.status = verdict == "approve" and "approved" or "rejected"
request.decision, request.decided_at_ms = decision, now
request.refund_fen, request.refund_units, request.restock_units = refund, units, restock
local encoded, kept = cjson.encode(order), cjson.encode(request)
redis.call("HSET", KEYS[2], oid, encoded)
redis.call("HSET", KEYS[8], rid, kept)
redis.call("XADD", KEYS[4], "*", "type", "after_sale", "order_id", oid, "order", encoded,
  "request", kept, "refund_fen", refund, "reason", "after_sale")
return {"decided", encoded}
