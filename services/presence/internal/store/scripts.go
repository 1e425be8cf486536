package store

import "github.com/redis/go-redis/v9"

// luaCommon holds the helpers every script shares. Scripts run atomically,
// so a state change and its announcement can never be torn apart, and two
// instances racing on the same session (two sweepers, a sweeper and a
// heartbeat) see each other's effects in a total order: only the first to
// remove a session announces anything.
//
// A user's state hash U has: on ("1" while a session lives, as far as the
// announcements go), st (chosen status, "2".."5"), t (ms of the last change
// the user themselves could see), vt (ms of the last change others could
// see) and v (a counter bumped on every announced change).
const luaCommon = `
local function view_self(on, st)
  if on ~= '1' then return '1' end
  return st
end
local function view_others(on, st)
  if on ~= '1' or st == '5' then return '1' end
  return st
end
-- change moves the user to (on, st) and publishes the change when either
-- view of it changed.
local function change(U, uid, on, st, now, ttl, channel)
  local old = redis.call('HMGET', U, 'on', 'st', 't', 'vt', 'v')
  local oon = old[1] or '0'
  local ost = old[2] or '2'
  local t = old[3] or '0'
  local vt = old[4] or '0'
  local v = tonumber(old[5] or '0')
  local changed = false
  if view_self(oon, ost) ~= view_self(on, st) then t = now; changed = true end
  if view_others(oon, ost) ~= view_others(on, st) then vt = now; changed = true end
  if changed then v = v + 1 end
  redis.call('HSET', U, 'on', on, 'st', st, 't', t, 'vt', vt, 'v', v)
  redis.call('PEXPIRE', U, ttl)
  if changed then
    redis.call('PUBLISH', channel, uid .. '|' .. on .. '|' .. st .. '|' .. t .. '|' .. vt .. '|' .. v)
  end
end
-- settle announces the user offline once no session is alive.
local function settle(Z, U, uid, now, ttl, channel)
  if redis.call('ZCOUNT', Z, now, '+inf') == 0 then
    local st = redis.call('HGET', U, 'st') or '2'
    change(U, uid, '0', st, now, ttl, channel)
  end
end
-- bury removes a session and leaves a tombstone, so that a late heartbeat
-- is told NOT_FOUND instead of reviving it.
local function bury(Z, U, S, G, uid, sid, member, now, ttl, tomb, channel)
  redis.call('ZREM', Z, sid)
  redis.call('ZREM', G, member)
  redis.call('HSET', S, 'u', uid, 'd', '1')
  redis.call('PEXPIRE', S, tomb)
  settle(Z, U, uid, now, ttl, channel)
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
change(U, uid, '1', redis.call('HGET', U, 'st') or '2', now, ttl, channel)
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
local s = redis.call('HMGET', S, 'u', 'd')
if s[1] and s[1] ~= uid then return -1 end
if s[2] == '1' then return -1 end
local sc = redis.call('ZSCORE', Z, sid)
if sc and tonumber(sc) < tonumber(now) then
  -- Expired before a sweeper came by: end it here, as the sweeper would.
  bury(Z, U, S, G, uid, sid, member, now, ttl, tomb, channel)
  return -1
end
local reg = 0
if not s[1] then
  redis.call('HSET', S, 'u', uid, 'c', '')
  reg = 1
end
live(Z, S, G, sid, member, exp, sessTTL)
if reg == 1 or not sc then
  change(U, uid, '1', redis.call('HGET', U, 'st') or '2', now, ttl, channel)
  return 1
end
redis.call('PEXPIRE', U, ttl)
return 0
`)

// closeScript: KEYS Z U S G; ARGV uid sid now statusTTL channel member tomb.
// Returns -1 (not the caller's session), 0 (already ended) or 1.
var closeScript = redis.NewScript(luaCommon + `
local Z, U, S, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local uid, sid, now, ttl, channel, member, tomb = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local s = redis.call('HMGET', S, 'u', 'd')
if s[1] ~= uid then return -1 end
if s[2] == '1' then return 0 end
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
// user's state fields on st t vt v.
var statusScript = redis.NewScript(luaCommon + `
local U = KEYS[1]
local uid, st, now, ttl, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
change(U, uid, redis.call('HGET', U, 'on') or '0', st, now, ttl, channel)
return redis.call('HMGET', U, 'on', 'st', 't', 'vt', 'v')
`)
