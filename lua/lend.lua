-- lend.lua: a stock bucket gives units to another bucket of the same campaign (its first
-- half; take_loan.lua on the borrower is the second). The units leave this bucket's
-- `remaining` for `sent` and the loan is kept in `loans` until the borrower has them, so
-- a process that dies between the two halves leaves the loan here for the sweeper to finish
-- (server/store/buckets.py): units are never in two buckets and never lost.
--
-- The same boxes lie in the warehouses: as many free warehouse units go with the loan,
-- from the warehouses with the most free units first, so a bucket's warehouses always hold
-- its unrouted units (server/domain/buckets.py, split_warehouses).
--
-- KEYS[1] pools  hash "<pool>.<counter>" -> int
-- KEYS[2] loans  hash loan id -> {"to": borrower keyspace, "units": [[pool, n], ...],
--                                 "houses": [[warehouse code, n], ...]}
-- KEYS[3] warehouses  hash "<code>.stock", "<code>.free", ..., "version" (may be empty)
-- ARGV[1] loan id  ARGV[2] the borrower's keyspace, then triples: pool, units wanted, the
--   floor this bucket keeps in that pool (0 for the plan's own pool)
-- Reply: {pairs pool, units lent; JSON of the warehouse units lent} (fewer units than wanted
--   when this bucket has less; none when it has none); a loan id already lent answers
--   what it lent.
-- Publishes: every pool's remaining units on "<pools key>:stock" when units left.

-- include: publish_stock

local function answer(loan)
  local flat = {}
  for _, part in ipairs(loan.units) do
    flat[#flat + 1] = part[1]
    flat[#flat + 1] = part[2]
  end
  return {flat, cjson.encode(loan.houses)}
end

-- n free warehouse units out of this bucket, the fullest warehouses first.
local function houses_out(n)
  local free = {}
  local flat = redis.call("HGETALL", KEYS[3])
  for i = 1, #flat, 2 do
    local code = string.match(flat[i], "^(.+)%.free$")
    if code then free[#free + 1] = {code, tonumber(flat[i + 1])} end
  end
  table.sort(free, function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
  local moved = {}
  for _, house in ipairs(free) do
    local m = math.min(house[2], n)
    if m > 0 then
      redis.call("HINCRBY", KEYS[3], house[1] .. ".free", -m)
      redis.call("HINCRBY", KEYS[3], house[1] .. ".stock", -m)
      moved[#moved + 1] = {house[1], m}
      n = n - m
    end
  end
  if #moved > 0 then redis.call("HINCRBY", KEYS[3], "version", 1) end
  return moved
end

local known = redis.call("HGET", KEYS[2], ARGV[1])
if known then return answer(cjson.decode(known)) end

local units, lent = {}, 0
for i = 3, #ARGV, 3 do
  local pool, wanted, floor = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local remaining = tonumber(redis.call("HGET", KEYS[1], pool .. ".remaining") or "0")
  local n = math.min(wanted, math.max(0, remaining - floor))
  if n > 0 then
    redis.call("HINCRBY", KEYS[1], pool .. ".remaining", -n)
    redis.call("HINCRBY", KEYS[1], pool .. ".sent", n)
    units[#units + 1] = {pool, n}
    lent = lent + n
  end
end
local loan = {to = ARGV[2], units = units, houses = {}}
if #units > 0 then
  loan.houses = houses_out(lent)
  redis.call("HSET", KEYS[2], ARGV[1], cjson.encode(loan))
  publish_stock()
end
return answer(loan)
