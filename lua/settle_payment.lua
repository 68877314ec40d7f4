-- settle_payment.lua: apply the payment provider's notice, exactly once.
-- A success moves the order to its next status (the first payment turns its reserved
-- units into sold ones); a success for an order that has already ended (the
-- paid-after-cancel race) or is no longer at that stage is refunded at once and never
-- counted as revenue. A repeated notice changes nothing, except a success after a failure
-- of the same payment (providers retry, and the money did move): it is applied like any
-- success, refunded if the order can no longer take it.
--
-- KEYS[1] orders  KEYS[2] payments  KEYS[3] pools  KEYS[4] deadlines  KEYS[5] stream
-- KEYS[6] counters  KEYS[7] groups  KEYS[8] leaders (zset: distributor code -> units paid)
-- KEYS[9] depositors (set: users who have paid a deposit)
-- ARGV[1] now (ms)  ARGV[2] payment id  ARGV[3] amount (fen)  ARGV[4] "succeeded" | "failed"
-- ARGV[5] balance deadline (ms), for deposits
-- ARGV[6] transitions "stage:from>to;..." (from domain/lifecycle.py)
-- ARGV[7] the provider whose notice this is: only the provider that took a payment settles it
-- Reply: {"succeeded" | "failed" | "refunded" | "duplicate" | "amount_mismatch", payment JSON}
--        | {"unknown", ""}

local now, pid, amount, outcome = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]
local balance_due = tonumber(ARGV[5])

local raw = redis.call("HGET", KEYS[2], pid)
if not raw then return {"unknown", ""} end
local payment = cjson.decode(raw)
if (payment.provider or "sandbox") ~= ARGV[7] then return {"unknown", ""} end
if payment.amount_fen ~= amount then return {"amount_mismatch", raw} end
local late_success = payment.status == "failed" and outcome == "succeeded"
if payment.status ~= "pending" and not late_success then return {"duplicate", raw} end

local transitions = {}
for stage, from, to in string.gmatch(ARGV[6], "(%a+):([%a_]+)>([%a_]+)") do
  transitions[stage] = {from, to}
end

local order = cjson.decode(redis.call("HGET", KEYS[1], payment.order_id))
local oid = order.id
if order.pending_payment == pid then order.pending_payment = "" end
payment.settled_at_ms = now
local refund_fen = 0
local result

if outcome == "failed" then
  payment.status = "failed"
  result = "failed"
else
  order.paid_fen = order.paid_fen + amount
  local from, to = transitions[payment.stage][1], transitions[payment.stage][2]
  if order.ended or order.status ~= from then
    refund_fen = amount
    order.refunded_fen = order.refunded_fen + amount
    -- money the order could not take, returned at once: never the merchant's to keep
    order.bounced_fen = (order.bounced_fen or 0) + amount
    payment.status = "refunded"
    result = "refunded"
    redis.call("HINCRBY", KEYS[6], "refunds.fen", amount)
  else
    payment.status = "succeeded"
    result = "succeeded"
    if payment.stage ~= "balance" then
      for _, part in ipairs(order.alloc) do
        redis.call("HINCRBY", KEYS[3], part[1] .. ".reserved", -part[2])
        redis.call("HINCRBY", KEYS[3], part[1] .. ".sold", part[2])
      end
      order.held = "sold"
      redis.call("ZREM", KEYS[4], "pay:" .. oid)
      local attribution = order.attribution or {}
      if attribution.level1 and attribution.level1 ~= "" then
        redis.call("ZINCRBY", KEYS[8], order.qty, attribution.level1)
      end
      if order.group_code ~= "" then
        local group = cjson.decode(redis.call("HGET", KEYS[7], order.group_code))
        group.paid = group.paid + 1
        redis.call("HSET", KEYS[7], order.group_code, cjson.encode(group))
      end
    end
    if payment.stage == "deposit" then
      redis.call("ZADD", KEYS[4], balance_due, "balance:" .. oid)
      redis.call("SADD", KEYS[9], order.user)
    elseif payment.stage == "balance" then
      redis.call("ZREM", KEYS[4], "balance:" .. oid)
    end
    order.status = to
    table.insert(order.history, {to, now})
    redis.call("HINCRBY", KEYS[6], "payments." .. payment.stage, 1)
    redis.call("HINCRBY", KEYS[6], "gmv.paid_fen", amount)
  end
end

local encoded_payment = cjson.encode(payment)
local encoded_order = cjson.encode(order)
redis.call("HSET", KEYS[2], pid, encoded_payment)
redis.call("HSET", KEYS[1], oid, encoded_order)
redis.call("XADD", KEYS[5], "*", "type", "payment", "order_id", oid, "order", encoded_order,
  "payment", encoded_payment, "refund_fen", refund_fen, "reason", "paid_after_end")
return {result, encoded_payment}
