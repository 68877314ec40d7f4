-- register_distributor.lua: make a user a distributor under an optional upline, once.
-- Asking again returns the existing registration unchanged.
--
-- KEYS[1] refs (hash: link code -> JSON of the distributor or community behind it)
-- KEYS[2] distributor_of (hash: user -> code)  KEYS[3] identity stream
-- KEYS[4] counters  KEYS[5] recruited (zset: code scored by the time it joined)
-- ARGV[1] now (ms)  ARGV[2] user  ARGV[3] new code  ARGV[4] upline code or ""
-- ARGV[5] status ("active", or "pending" when the campaign recruits by approval)
-- ARGV[6] the campaign that recruits them (where their share link points first)
-- Reply: {"created" | "existing", distributor JSON} | {"bad_upline" | "code_taken", ""}

local now, user, code, upline, status = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local campaign = ARGV[6]
local existing = redis.call("HGET", KEYS[2], user)
if existing then return {"existing", redis.call("HGET", KEYS[1], existing)} end
if redis.call("HEXISTS", KEYS[1], code) == 1 then return {"code_taken", ""} end

local upline_user = ""
if upline ~= "" then
  local raw = redis.call("HGET", KEYS[1], upline)
  if not raw then return {"bad_upline", ""} end
  local above = cjson.decode(raw)
  if above.kind ~= "distributor" or above.status ~= "active" then return {"bad_upline", ""} end
  upline_user = above.user
end

local distributor = {kind = "distributor", code = code, user = user, upline = upline,
                     upline_user = upline_user, status = status, joined_at_ms = now,
                     campaign_id = campaign}
local encoded = cjson.encode(distributor)
redis.call("HSET", KEYS[1], code, encoded)
redis.call("HSET", KEYS[2], user, code)
redis.call("XADD", KEYS[3], "*", "type", "distributor", "distributor", encoded)
if status == "active" then
  redis.call("HINCRBY", KEYS[4], "distributors.recruited", 1)
  redis.call("ZADD", KEYS[5], now, code)
end
return {"created", encoded}
