-- reserve.lua: place a batch of orders, each all-or-nothing, each independent.
-- Per order: idempotency, group open/join checks, per-user limit, units from the
-- order's pool then its lenders (down to their floors), the order record, and one
-- "reserved" entry on the order stream. Nothing changes for an order that is refused.
--
-- KEYS[1] pools     hash  "<pool>.<counter>" -> int, "<pool>.returned_to" -> name
-- KEYS[2] orders    hash  order id -> order JSON
-- KEYS[3] holdings  hash  "<user>|<mode>" -> units held by the user's live orders
-- KEYS[4] idem      hash  "<user>|<key>" -> "O|<hash>|<order id>" or "R|<hash>|<code>"
-- KEYS[5] groups    hash  group code -> group JSON
-- KEYS[6] members   hash  "<code>|<user>" -> order id
-- KEYS[7] stream    stream of order events
-- KEYS[8] meta      hash  "seq" -> last order number, "seq_writer" -> the replication id
--                         of the Redis that wrote it
-- KEYS[9] counters  hash  live metrics
-- KEYS[10] user_orders hash "<user>" -> the user's order ids, comma-separated
-- KEYS[11] deadlines zset  "pay:<order id>", "group:<code>", ... scored by due time (ms)
-- KEYS[12] progress  zset  open group code -> members (the leading groups on the big screen)
-- KEYS[13] touches   hash  user -> "<first source>\t<last source>" (record_visit.lua)
-- ARGV[1] now (ms)  ARGV[2] campaign id (the order ids name the keys' own hash tag: a
--   campaign's stock bucket numbers its own orders, "<cid>@<n>.<seq>", docs/stock-buckets.md),
--   then one value per order: its 14 fields as a
--   MessagePack array of text (one argument per order, not 14: the client's cost of
--   packing arguments was most of the call's):
--   user, mode, qty, per-user limit, plan ("own;lender:floor;..."), pay_before (ms),
--   idempotency key (or ""), body hash, group action ("", "open", "join"), group code,
--   group capacity, group expires_at (ms), "1" when a distributor earns commission on it,
--   "1" when the order is tried again after a sold_out refusal its client was never
--   answered (a stock bucket borrowed units for it), and the order record's fields the gateway knows, as one JSON object without its "{"
--   (its price, ref, attribution, ...: see OrderRequest.record in server/store/stock.py)
-- Reply: 2 values per order: code ("ok", "replay" or a refusal such as "sold_out"),
--   then the order JSON (ok, replay), "R" (a refusal replayed under its key) or "".
-- Publishes: after a batch with a sold_out refusal, every pool's remaining units on the
--   channel "<pools key>:stock" (the gateways' in-process sold-out flags).
--
-- Written once per batch (issue 18: Redis's CPU per order): the orders are placed one after
-- the other against a copy of the state they read and change (the tables below),
-- and the copy is written back at the end in one command per key (one HINCRBY per pool
-- counter and live metric), the stream entries last. A script runs alone, so nobody sees the
-- state in between, and every later order of the batch sees what the earlier ones did.

local now = tonumber(ARGV[1])
local cid = ARGV[2]
local keyspace = string.match(KEYS[1], "{(.-)}")
local reply = {}
local sold_out = false

-- The batch's copy: values read at most once from Redis, changes kept until the end.
local read = {}        -- key index -> field -> value read (false: none)
local written = {}     -- key index -> field -> new value, for HSET at the end
local added = {}       -- key index -> field -> increment, for HINCRBY at the end
local due = {}         -- deadlines: score, member, ...
local entries = {}     -- stream entries: {order id, order JSON}
local seq = nil
local writer = nil     -- this Redis's replication id, once an order is numbered
local placed = {}      -- mode -> {orders, units} placed in this batch (live metrics)
local via_distributor = 0

local function get(index, field)
  local w = written[index] and written[index][field]
  if w ~= nil then return w end
  local r = read[index] or {}
  read[index] = r
  if r[field] == nil then r[field] = redis.call("HGET", KEYS[index], field) or false end
  return r[field] or nil
end

-- Read many fields into the copy in one command (what the batch's buyers will need).
local function prefetch(index, fields_)
  local r = read[index] or {}
  read[index] = r
  local values = redis.call("HMGET", KEYS[index], unpack(fields_))
  for i, field in ipairs(fields_) do r[field] = values[i] or false end
end

local function set(index, field, value)
  written[index] = written[index] or {}
  written[index][field] = value
end

local function add(index, field, n)
  added[index] = added[index] or {}
  added[index][field] = (added[index][field] or 0) + n
end

-- include: publish_stock

local plans = {}  -- plan text -> {own pool, lenders}: parsed once per batch

local function parse_plan(plan)
  local own, lenders = nil, {}
  for part in string.gmatch(plan, "[^;]+") do
    if own == nil then
      own = part
    else
      local name, floor = string.match(part, "^(.+):(%d+)$")
      table.insert(lenders, {name, tonumber(floor)})
    end
  end
  return own, lenders
end

local function remaining(pool)
  return tonumber(get(1, pool .. ".remaining") or "0")
end

-- What each pool can give: all of the own pool, lenders only above their floor.
local function offers(own, lenders)
  local list = {{own, remaining(own)}}
  local total = list[1][2]
  for _, lender in ipairs(lenders) do
    local spare = math.max(0, remaining(lender[1]) - lender[2])
    table.insert(list, {lender[1], spare})
    total = total + spare
  end
  return list, total
end

local function take(own, list, qty)
  local alloc = {}
  for _, offer in ipairs(list) do
    local units = math.min(offer[2], qty)
    if units > 0 then
      set(1, offer[1] .. ".remaining", remaining(offer[1]) - units)
      add(1, offer[1] .. ".reserved", units)
      if offer[1] ~= own then
        add(1, own .. ".borrowed", units)
        add(1, offer[1] .. ".lent", units)
      end
      table.insert(alloc, {offer[1], units})
      qty = qty - units
    end
    if qty == 0 then break end
  end
  return alloc
end

local function group_refusal(action, code, user)
  if action == "open" then
    if redis.call("HEXISTS", KEYS[5], code) == 1 then return "group_code_taken" end
  elseif action == "join" then
    local raw = redis.call("HGET", KEYS[5], code)
    if not raw then return "group_not_found" end
    local group = cjson.decode(raw)
    if group.status ~= "open" or group.expires_at_ms <= now then return "group_closed" end
    if group.members >= group.capacity then return "group_full" end
    if redis.call("HEXISTS", KEYS[6], code .. "|" .. user) == 1 then return "already_in_group" end
  end
  return nil
end

local function record_group(action, code, user, oid, qty, capacity, expires)
  local group
  if action == "open" then
    group = {code = code, leader = user, capacity = capacity, expires_at_ms = expires,
             members = 0, paid = 0, units = 0, status = "open", opened_at_ms = now,
             order_ids = {}}
    redis.call("ZADD", KEYS[11], expires, "group:" .. code)
    add(9, "groups.opened", 1)
  else
    group = cjson.decode(redis.call("HGET", KEYS[5], code))
  end
  group.members = group.members + 1
  group.units = group.units + qty
  table.insert(group.order_ids, oid)
  redis.call("HSET", KEYS[5], code, cjson.encode(group))
  redis.call("HSET", KEYS[6], code .. "|" .. user, oid)
  redis.call("ZADD", KEYS[12], group.members, code)
end

local function refuse(code, user, idem_key, body_hash)
  -- A code collision is retried by the gateway with a new code: not an answer to keep.
  if idem_key ~= "" and code ~= "group_code_taken" then
    set(4, user .. "|" .. idem_key, "R|" .. body_hash .. "|" .. code)
  end
  add(9, "refused." .. code, 1)
  table.insert(reply, code)
  table.insert(reply, "")
end

local function replayed(user, idem_key, body_hash, retry)
  local seen = get(4, user .. "|" .. idem_key)
  if not seen then return false end
  local kind, hash, rest = string.match(seen, "^(%a)|([^|]*)|(.*)$")
  if hash ~= body_hash then
    table.insert(reply, "idempotency_mismatch")
    table.insert(reply, "")
  elseif kind == "O" then
    table.insert(reply, "replay")
    table.insert(reply, get(2, rest))
  elseif retry and rest == "sold_out" then
    return false
  else
    table.insert(reply, rest)
    table.insert(reply, "R")  -- a refusal answered before: never tried again after a loan
  end
  return true
end

-- The order record: the gateway's fields with what only this script knows joined in front
-- (text joined, not a table encoded: encoding every order was a fifth of the script). The
-- parts every order of the batch shares are made once; the campaign id, and so the order
-- id, and the pool names are slugs, which JSON needs no escape for.
local record_campaign = ',"campaign_id":"' .. cid .. '","alloc":['
local record_time = '],"created_at_ms":' .. ARGV[1] .. ',"history":[["awaiting_payment",'
  .. ARGV[1] .. ']],'

local function record(oid, alloc, touch, known)
  local units = {}
  for i, part in ipairs(alloc) do units[i] = '["' .. part[1] .. '",' .. part[2] .. ']' end
  local head = '{"id":"' .. oid .. '"' .. record_campaign .. table.concat(units, ",")
    .. record_time
  if touch then  -- where the buyer first came from, and last, beside the attribution
    local first, last = string.match(touch, "^([^\t]*)\t(.*)$")
    head = head .. '"first_touch":' .. cjson.encode(first) .. ',"last_touch":'
      .. cjson.encode(last) .. ','
  end
  return head .. known  -- known: the gateway's JSON without its "{"
end

-- The last order number to count on. A Redis that takes over a campaign (a replica
-- promoted in a failover, a server restarted from its append-only file) may have lost the
-- old one's last orders, whose ids buyers were answered and the ledger may hold: their
-- numbers are skipped, so no id is ever handed out twice. Known by the replication id,
-- which every promotion and restart changes.
local TAKEN_OVER_SKIP = 1000000  -- far more orders than a replica ever falls behind by

local function last_seq()
  local last = tonumber(redis.call("HGET", KEYS[8], "seq") or "0")
  writer = string.match(redis.call("INFO", "replication"), "master_replid:(%w+)") or ""
  if last > 0 and redis.call("HGET", KEYS[8], "seq_writer") ~= writer then
    last = last + TAKEN_OVER_SKIP
  end
  return last
end

local function place(a)
  local user, mode, qty, limit = a[1], a[2], tonumber(a[3]), tonumber(a[4])
  local idem_key, body_hash, action, code = a[7], a[8], a[9], a[10]
  if idem_key ~= "" and replayed(user, idem_key, body_hash, a[14] == "1") then return end

  local refusal = group_refusal(action, code, user)
  if refusal then return refuse(refusal, user, idem_key, body_hash) end

  local holding_field = a.holding
  local held = tonumber(get(3, holding_field) or "0")
  if held + qty > limit then return refuse("limit_reached", user, idem_key, body_hash) end

  local plan = plans[a[5]]
  if not plan then
    plan = {parse_plan(a[5])}
    plans[a[5]] = plan
  end
  local own, lenders = plan[1], plan[2]
  local list, available = offers(own, lenders)
  if available < qty then
    sold_out = true
    return refuse("sold_out", user, idem_key, body_hash)
  end

  seq = (seq or last_seq()) + 1
  local oid = keyspace .. "." .. seq
  local encoded = record(oid, take(own, list, qty), get(13, user), a[15])
  set(3, holding_field, held + qty)
  if action ~= "" then
    record_group(action, code, user, oid, qty, tonumber(a[11]), tonumber(a[12]))
  end
  set(2, oid, encoded)
  local mine = get(10, user)
  set(10, user, mine and (mine .. "," .. oid) or oid)
  table.insert(due, a[6])
  table.insert(due, "pay:" .. oid)
  if idem_key ~= "" then
    set(4, user .. "|" .. idem_key, "O|" .. body_hash .. "|" .. oid)
  end
  table.insert(entries, {oid, encoded})
  local tally = placed[mode]
  if not tally then
    tally = {0, 0}
    placed[mode] = tally
  end
  tally[1], tally[2] = tally[1] + 1, tally[2] + qty
  if a[13] == "1" then via_distributor = via_distributor + 1 end
  table.insert(reply, "ok")
  table.insert(reply, encoded)
end

-- The batch's changes, one command per key; the stream entries last, once the state they
-- describe is in place.
local function write_back()
  local accepted = 0
  for mode, tally in pairs(placed) do
    add(9, "orders." .. mode, tally[1])
    add(9, "units." .. mode, tally[2])
    accepted = accepted + tally[1]
  end
  if accepted > 0 then add(9, "orders.accepted", accepted) end
  if via_distributor > 0 then add(9, "orders.via_distributor", via_distributor) end
  for index, fields_ in pairs(written) do
    local flat = {}
    for field, value in pairs(fields_) do
      flat[#flat + 1] = field
      flat[#flat + 1] = value
    end
    redis.call("HSET", KEYS[index], unpack(flat))
  end
  for index, fields_ in pairs(added) do
    for field, n in pairs(fields_) do redis.call("HINCRBY", KEYS[index], field, n) end
  end
  if seq then redis.call("HSET", KEYS[8], "seq", seq, "seq_writer", writer) end
  if #due > 0 then redis.call("ZADD", KEYS[11], unpack(due)) end
  for _, entry in ipairs(entries) do
    redis.call("XADD", KEYS[7], "*", "type", "reserved", "order_id", entry[1], "order", entry[2])
  end
end

local orders, users, holdings = {}, {}, {}
for i = 3, #ARGV do
  local a = cmsgpack.unpack(ARGV[i])
  orders[#orders + 1] = a
  users[#users + 1] = a[1]
  a.holding = a[1] .. "|" .. a[2]
  holdings[#holdings + 1] = a.holding
end
if #orders > 1 then  -- (one order reads the same fields one by one)
  prefetch(3, holdings)
  prefetch(10, users)
  prefetch(13, users)
end
for _, a in ipairs(orders) do place(a) end
write_back()
if sold_out then publish_stock() end
return reply
