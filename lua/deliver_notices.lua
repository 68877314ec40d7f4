-- deliver_notices.lua: put notices in their viewers' kept inboxes, each exactly once (a
-- notice delivered again after a crash changes nothing), and tell the live rooms whose
-- viewers got one, by an opaque tag per viewer, so an open page shows it at once.
--
-- KEYS[1] notifications (hash: user -> JSON list, newest last)
-- KEYS[2] delivered notices (set of notice keys)
-- ARGV[1] feed channel  ARGV[2] most notices kept per viewer
-- then for each notice: key, user, notice JSON, the viewer's tag
-- Reply: how many were new

local channel, keep = ARGV[1], tonumber(ARGV[2])
local tags, new = {}, 0
for i = 3, #ARGV, 4 do
  local key, user, notice, tag = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if redis.call("SADD", KEYS[2], key) == 1 then
    local raw = redis.call("HGET", KEYS[1], user)
    local list = raw and cjson.decode(raw) or {}
    table.insert(list, cjson.decode(notice))
    while #list > keep do table.remove(list, 1) end
    redis.call("HSET", KEYS[1], user, cjson.encode(list))
    table.insert(tags, tag)
    new = new + 1
  end
end
if new > 0 then
  redis.call("SPUBLISH", channel, cjson.encode({type = "inbox", tags = tags}))
end
return new
