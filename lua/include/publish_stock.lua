-- Shared by the scripts that change a pool's remaining units (server/store/scripts.py
-- pastes it in where a script's include line names it):
-- tells every gateway each pool's remaining units, for their in-process sold-out flags.
-- Expects KEYS[1] to be the campaign's pools hash; the channel is "<pools key>:stock".
local function publish_stock()
  local flat, remaining = redis.call("HGETALL", KEYS[1]), {}
  for i = 1, #flat, 2 do
    local pool = string.match(flat[i], "^(.+)%.remaining$")
    if pool then remaining[pool] = tonumber(flat[i + 1]) end
  end
  redis.call("SPUBLISH", KEYS[1] .. ":stock", cjson.encode(remaining))
end
