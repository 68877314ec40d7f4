-- record_visit.lua: a viewer opened the live room through a share link (a view), or pressed
-- an order button on such a visit (a click). A view moves the viewer's last touch (the first
-- stays); each kind counts once per viewer, source and campaign day, and a counted one goes
-- to the order stream for the ledger (link_visits). domain/touches.py is the plain model.
--
-- KEYS[1] seen today (set "<kind>|<source>|<user>", expires after the day)
-- KEYS[2] link stats (hash "<source>|<kind>" -> count)
-- KEYS[3] touches (hash user -> "<first source>\t<last source>")
-- KEYS[4] stream
-- ARGV[1] now (ms)  ARGV[2] user  ARGV[3] source  ARGV[4] kind  ARGV[5] day
-- ARGV[6] seconds the day's set is kept
-- Reply: "counted" or "repeat"

local now, user, source, kind, day = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if kind == "view" then
  local touch = redis.call("HGET", KEYS[3], user)
  local first = touch and string.match(touch, "^([^\t]*)\t") or source
  redis.call("HSET", KEYS[3], user, first .. "\t" .. source)
end
if redis.call("SADD", KEYS[1], kind .. "|" .. source .. "|" .. user) == 0 then
  return "repeat"
end
redis.call("EXPIRE", KEYS[1], tonumber(ARGV[6]))
redis.call("HINCRBY", KEYS[2], source .. "|" .. kind, 1)
redis.call("XADD", KEYS[4], "*", "type", "visit", "source", source, "user", user,
  "kind", kind, "day", day, "at_ms", now)
return "counted"
