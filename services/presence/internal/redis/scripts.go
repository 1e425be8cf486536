package redis

import "github.com/redis/go-redis/v9"

// luaCommon holds the helpers every script shares. Scripts run atomically,
// so a state change and its announcement can never be torn apart, and two
// instances racing on the same session (two sweepers, a sweeper and a
// heartbeat) see each other's effects in a total order: only the first to
// remove a session announces anything.
//
// A user's state U is one string "on|st|t|vt|v|x" (so that a batch read is
// one MGET): on ("1" while a session lives, as far as the announcements go),
// st (chosen status, 2..5), t (ms of the last change the user themselves
// could see), vt (ms of the last change others could see), v (a counter
// bumped on every announced change) and x (the latest session expiry, ms:
// readers treat an "on" whose x passed as offline, so a stalled sweeper
// cannot keep anyone online).
const luaCommon = `
local function load(U)
  local raw = redis.call('GET', U)
  if raw then
    local on, st, t, vt, v, x = string.match(raw, '^(%d)|(%d)|(%d+)|(%d+)|(%d+)|(%d+)$')
    if on then return {on = on, st = st, t = t, vt = vt, v = tonumber(v), x = x} end
  end
  return {on = '0', st = '2', t = '0', vt = '0', v = 0, x = '0'}
end
local function pack(s)
  return s.on .. '|' .. s.st .. '|' .. s.t .. '|' .. s.vt .. '|' .. string.format('%d', s.v) .. '|' .. s.x
end
local function save(U, s, ttl)
  redis.call('SET', U, pack(s), 'PX', ttl)
end
local function view_self(on, st)
  if on ~= '1' then return '1' end
  return st
end
local function view_others(on, st)
  if on ~= '1' or st == '5' then return '1' end
  return st
end
-- change moves state s of uid to (on, st) and publishes the change when
-- either view of it changed. The caller saves s.
local function change(s, uid, on, st, now, channel)
  local changed = false
  if view_self(s.on, s.st) ~= view_self(on, st) then s.t = now; changed = true end
  if view_others(s.on, s.st) ~= view_others(on, st) then s.vt = now; changed = true end
  s.on, s.st = on, st
  if changed then
    s.v = s.v + 1
    redis.call('PUBLISH', channel, uid .. '|' .. pack(s))
  end
end
-- bury removes a session, leaves a tombstone so that a late heartbeat is
-- told NOT_FOUND instead of reviving it, and announces the user offline
-- once no session is left alive.
local function bury(Z, U, S, G, uid, sid, member, now, ttl, tomb, channel)
  redis.call('ZREM', Z, sid)
  redis.call('ZREM', G, member)
  redis.call('HSET', S, 'u', uid, 'd', '1')
  redis.call('PEXPIRE', S, tomb)
  if redis.call('ZCOUNT', Z, now, '+inf') == 0 then
    local s = load(U)
    change(s, uid, '0', s.st, now, channel)
    save(U, s, ttl)
  end
end
-- live registers (or renews) a session until exp.
local function live(Z, S, G, sid, member, exp, sessTTL)
  redis.call('PEXPIRE', S, sessTTL)
  redis.call('ZADD', Z, exp, sid)
  redis.call('PEXPIRE', Z, sessTTL)
  redis.call('ZADD', G, exp, member)
end
`

// openScript: KEYS Z U S G X(connections stream) D(day counter);
// ARGV uid sid client now exp sessTTL statusTTL channel member maxlen dayTTL.
var openScript = redis.NewScript(luaCommon + `
local Z, U, S, G, X, D = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local uid, sid, client, now, exp = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local sessTTL, ttl, channel, member = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
redis.call('HSET', S, 'u', uid, 'c', client)
live(Z, S, G, sid, member, exp, sessTTL)
local s = load(U)
s.x = exp
change(s, uid, '1', s.st, now, channel)
save(U, s, ttl)
redis.call('XADD', X, 'MAXLEN', '~', ARGV[10], '*', 'user_id', uid, 'session_id', sid, 'client', client, 'ts', now)
redis.call('ZINCRBY', D, 1, uid)
redis.call('PEXPIRE', D, ARGV[11])
return 1
`)

// heartbeatScript: KEYS Z U S G; ARGV uid sid now exp sessTTL statusTTL
// channel member tomb. Returns -1 (not found), 0 (renewed) or 1
// (re-registered: the session was unknown, e.g. after Redis lost its data).
var heartbeatScript = redis.NewScript(luaCommon + `
local Z, U, S, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local uid, sid, now, exp = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local sessTTL, ttl, channel, member, tomb = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local owner = redis.call('HMGET', S, 'u', 'd')
if owner[1] and owner[1] ~= uid then return -1 end
if owner[2] == '1' then return -1 end
local sc = redis.call('ZSCORE', Z, sid)
if sc and tonumber(sc) < tonumber(now) then
  -- Expired before a sweeper came by: end it here, as the sweeper would.
  bury(Z, U, S, G, uid, sid, member, now, ttl, tomb, channel)
  return -1
end
local reg = 0
if not owner[1] then
  redis.call('HSET', S, 'u', uid, 'c', '')
  reg = 1
end
live(Z, S, G, sid, member, exp, sessTTL)
local s = load(U)
s.x = exp
if reg == 1 or not sc then
  change(s, uid, '1', s.st, now, channel)
  reg = 1
end
save(U, s, ttl)
return reg
`)

// closeScript: KEYS Z U S G; ARGV uid sid now statusTTL channel member tomb.
// Returns -1 (not the caller's session), 0 (already ended) or 1.
var closeScript = redis.NewScript(luaCommon + `
local Z, U, S, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local uid, sid, now, ttl, channel, member, tomb = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local owner = redis.call('HMGET', S, 'u', 'd')
if owner[1] ~= uid then return -1 end
if owner[2] == '1' then return 0 end
bury(Z, U, S, G, uid, sid, member, now, ttl, tomb, channel)
return 1
`)

// sweepScript: KEYS Z U S G; ARGV uid sid now statusTTL channel member tomb.
// Returns 1 when it ended the session, 0 when it had been renewed or ended.
var sweepScript = redis.NewScript(luaCommon + `
local Z, U, S, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local uid, sid, now, ttl, channel, member, tomb = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local sc = redis.call('ZSCORE', Z, sid)
if not sc then
  redis.call('ZREM', G, member)
  return 0
end
if tonumber(sc) >= tonumber(now) then
  redis.call('ZADD', G, sc, member)
  return 0
end
bury(Z, U, S, G, uid, sid, member, now, ttl, tomb, channel)
return 1
`)

// statusScript: KEYS U; ARGV uid st now statusTTL channel. Returns the
// user's packed state.
var statusScript = redis.NewScript(luaCommon + `
local U = KEYS[1]
local uid, st, now, ttl, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local s = load(U)
change(s, uid, s.on, st, now, channel)
save(U, s, ttl)
return pack(s)
`)
