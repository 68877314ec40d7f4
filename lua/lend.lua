-- lend.lua: a stock bucket gives units to another bucket of the same campaign (its first
-- half; take_loan.lua on the borrower is the second). The units leave this bucket's
-- `remaining` for `sent` and the loan is kept in `loans` until the borrower has them, so
-- a process that dies between the two halves leaves the loan here for the sweeper to finish
-- (server/store/buckets.py): units are never in two buckets and never lost.
--
-- KEYS[1] pools  hash "<pool>.<counter>" -> int
-- KEYS[2] loans  hash loan id -> {"to": borrower keyspace, "units": [[pool, n], ...]}
-- ARGV[1] loan id  ARGV[2] the borrower's keyspace, then triples: pool, units wanted, the
--   floor this bucket keeps in that pool (0 for the plan's own pool)
-- Reply: pairs pool, units lent (fewer than wanted when this bucket has less; nothing when
--   it has none); a loan id already lent answers what it lent.
-- Publishes: every pool's remaining units on "<pools key>:stock" when units left.

-- include: publish_stock

local known = redis.call("HGET", KEYS[2], ARGV[1])
if known then
  local flat = {}
  for _, part in ipairs(cjson.decode(known).units) do
    flat[#flat + 1] = part[1]
    flat[#flat + 1] = part[2]
  end
  return flat
end

local units, flat = {}, {}
for i = 3, #ARGV, 3 do
  local pool, wanted, floor = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local remaining = tonumber(redis.call("HGET", KEYS[1], pool .. ".remaining") or "0")
  local n = math.min(wanted, math.max(0, remaining - floor))
  if n > 0 then
    redis.call("HINCRBY", KEYS[1], pool .. ".remaining", -n)
    redis.call("HINCRBY", KEYS[1], pool .. ".sent", n)
    units[#units + 1] = {pool, n}
    flat[#flat + 1] = pool
    flat[#flat + 1] = n
  end
end
if #units > 0 then
  redis.call("HSET", KEYS[2], ARGV[1], cjson.encode({to = ARGV[2], units = units}))
  publish_stock()
end
return flat
