package redisstore

import "github.com/redis/go-redis/v9"

// The store's writes and its position checks run as Lua scripts, so that each
// one is a single round trip and atomic against every other client of the
// same Redis: an append, its trimming and its byte and stream accounting can
// never interleave with another process's append or read.
//
// Every script takes the same KEYS:
//
//	KEYS[1] the stream        <prefix>s:<name>
//	KEYS[2] streams zset      <prefix>streams   member name, score = append counter at its last append (LRU)
//	KEYS[3] bytes hash        <prefix>bytes     name -> bytes held
//	KEYS[4] last hash         <prefix>last      name -> newest ID ever appended
//	KEYS[5] stats hash        <prefix>stats     "bytes", "events" held in total, "last" ID handed out, "n" appends
//
// and ARGV[1] = stream name, ARGV[2] = key prefix (to reach other streams
// when a store-wide bound evicts them), ARGV[3] = now in ms ("" for the Redis
// server's clock), ARGV[4] = MaxAge in ms.
//
// Entries have the fields "p" (the ID of the entry appended before this one
// in the stream, "0-0" for the first), "d" (data) and, when set, "t" (type).
// "p" makes every resume check O(1): a reader at ID x may continue with entry
// e exactly when e.p == x; a mismatch means events between were evicted or the
// stream was deleted and created again.

// luaPrelude is shared by every script.
const luaPrelude = `
local sk, zk, bk, lk, stk = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local name, prefix = ARGV[1], ARGV[2]
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local maxage = tonumber(ARGV[4])

local function parse(id)
  local a, b = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(a), tonumber(b)
end
local function fmt(ms, seq) return string.format('%d-%d', ms, seq) end
local function idless(x, y)
  local xm, xs = parse(x)
  local ym, ys = parse(y)
  if xm ~= ym then return xm < ym end
  return xs < ys
end
local function nextid(id)
  local m, s = parse(id)
  return fmt(m, s + 1)
end
local function field(e, f)
  local kv = e[2]
  for i = 1, #kv, 2 do
    if kv[i] == f then return kv[i + 1] end
  end
  return nil
end
local function esize(e, sname)
  local n = #sname
  local kv = e[2]
  for i = 1, #kv, 2 do
    if kv[i] == 'd' or kv[i] == 't' then n = n + #kv[i + 1] end
  end
  return n
end

-- evictions, five values each: name, reason, events, bytes, through
local evs = {}
local total = 0 -- bytes held by the store, when a script tracks it
local function account(vname, reason, n, bytes, through)
  if n <= 0 then return end
  redis.call('HINCRBY', stk, 'events', -n)
  redis.call('HINCRBY', stk, 'bytes', -bytes)
  redis.call('HINCRBY', bk, vname, -bytes)
  total = total - bytes
  evs[#evs + 1] = vname
  evs[#evs + 1] = reason
  evs[#evs + 1] = n
  evs[#evs + 1] = bytes
  evs[#evs + 1] = through
end

-- evict_before removes the entries of stream vname with an ID before minid.
local function evict_before(vname, minid, reason)
  local vk = prefix .. 's:' .. vname
  local n, bytes, through = 0, 0, nil
  local start = '-'
  while true do
    local es = redis.call('XRANGE', vk, start, '(' .. minid, 'COUNT', 512)
    for _, e in ipairs(es) do
      n = n + 1
      bytes = bytes + esize(e, vname)
      through = e[1]
    end
    if #es < 512 then break end
    start = '(' .. through
  end
  if n > 0 then
    redis.call('XTRIM', vk, 'MINID', '=', nextid(through))
    account(vname, reason, n, bytes, through)
  end
  return n
end

-- drop removes stream vname whole.
local function drop(vname, reason)
  local vk = prefix .. 's:' .. vname
  local n = redis.call('XLEN', vk)
  local bytes = tonumber(redis.call('HGET', bk, vname) or '0')
  local through = redis.call('HGET', lk, vname)
  redis.call('DEL', vk)
  redis.call('ZREM', zk, vname)
  redis.call('HDEL', lk, vname)
  if n > 0 then
    account(vname, reason, n, bytes, through)
  end
  redis.call('HDEL', bk, vname)
  return n
end

local function agetrim(vname)
  local cutoff = now - maxage
  if cutoff > 0 then evict_before(vname, fmt(cutoff, 0), ` + reasonAge + `) end
end

local function first_held()
  local es = redis.call('XRANGE', sk, '-', '+', 'COUNT', 1)
  if #es == 0 then return nil end
  return es[1]
end
`

// Reason codes as the scripts return them: eventstore.EvictReason values.
const (
	reasonCount   = "1"
	reasonBytes   = "2"
	reasonAge     = "3"
	reasonStreams = "4"
	reasonTrim    = "5"
	reasonDelete  = "6"
)

// appendScript: ARGV[5] type, ARGV[6] data, ARGV[7] MaxEventsPerStream,
// ARGV[8] MaxBytes, ARGV[9] MaxStreams. Returns {id, evictions...}.
var appendScript = redis.NewScript(luaPrelude + `
local typ, data = ARGV[5], ARGV[6]
local maxlen, maxbytes, maxstreams = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local size = #name + #typ + #data

-- IDs come from one counter per prefix, so they are unique across streams
-- (an ID of another stream is unknown here) and survive Delete.
local prev = redis.call('HGET', lk, name) or '0-0'
local glast = redis.call('HGET', stk, 'last')
local id
if glast then
  local lm, ls = parse(glast)
  if now > lm then id = fmt(now, 0) else id = fmt(lm, ls + 1) end
else
  id = fmt(now, 0)
  if id == '0-0' then id = '0-1' end
end
redis.call('HSET', stk, 'last', id)
if typ == '' then
  redis.call('XADD', sk, id, 'p', prev, 'd', data)
else
  redis.call('XADD', sk, id, 'p', prev, 'd', data, 't', typ)
end
redis.call('HSET', lk, name, id)
redis.call('HINCRBY', bk, name, size)
redis.call('HINCRBY', stk, 'events', 1)
total = redis.call('HINCRBY', stk, 'bytes', size)
-- The LRU order of streams: a store-wide append counter (milliseconds tie).
local n = redis.call('HINCRBY', stk, 'n', 1)
redis.call('ZADD', zk, n, name)

-- MaxEventsPerStream
local len = redis.call('XLEN', sk)
if len > maxlen then
  local es = redis.call('XRANGE', sk, '-', '+', 'COUNT', len - maxlen)
  local bytes = 0
  for _, e in ipairs(es) do bytes = bytes + esize(e, name) end
  local through = es[#es][1]
  redis.call('XTRIM', sk, 'MINID', '=', nextid(through))
  account(name, ` + reasonCount + `, #es, bytes, through)
end

-- MaxAge: this stream, then up to 8 idle streams whose newest event expired.
agetrim(name)
local cutoff = now - maxage
if cutoff > 0 then
  -- the least recently appended streams hold the oldest newest-IDs
  local idle = redis.call('ZRANGE', zk, 0, 7)
  for _, v in ipairs(idle) do
    if v ~= name then
      local l = redis.call('HGET', lk, v)
      if l == false or parse(l) >= cutoff then break end
      drop(v, ` + reasonAge + `)
    end
  end
end

-- MaxStreams: the least recently appended streams go whole.
local nstreams = redis.call('ZCARD', zk)
while nstreams > maxstreams do
  local m = redis.call('ZRANGE', zk, 0, 1)
  local v = m[1]
  if v == name then v = m[2] end
  if v == nil then break end
  drop(v, ` + reasonStreams + `)
  nstreams = nstreams - 1
end

-- MaxBytes: the oldest events of the least recently appended streams first,
-- never the event just appended.
local idx = 0
while total > maxbytes do
  local m = redis.call('ZRANGE', zk, idx, idx)
  if #m == 0 then break end
  local v = m[1]
  local vk = prefix .. 's:' .. v
  while total > maxbytes do
    local es = redis.call('XRANGE', vk, '-', '+', 'COUNT', 64)
    local n, bytes, through = 0, 0, nil
    for _, e in ipairs(es) do
      if e[1] == id and v == name then break end
      if total - bytes <= maxbytes then break end
      n = n + 1
      bytes = bytes + esize(e, v)
      through = e[1]
    end
    if n == 0 then break end
    redis.call('XTRIM', vk, 'MINID', '=', nextid(through))
    account(v, ` + reasonBytes + `, n, bytes, through)
  end
  idx = idx + 1
end

local out = {id}
for _, x in ipairs(evs) do out[#out + 1] = x end
return out
`)

// readScript: ARGV[5] mode ("after" or "since"), ARGV[6] position (an ID),
// ARGV[7] limit. Returns {status, info, entries, evictions...}: status "ok"
// with info = the stream's newest ID ("0-0" if none), or "gap" with info =
// the oldest ID held ("" if none).
var readScript = redis.NewScript(luaPrelude + `
local mode, pos, limit = ARGV[5], ARGV[6], tonumber(ARGV[7])
agetrim(name)

local function result(status, info, es)
  local out = {status, info, es}
  for _, x in ipairs(evs) do out[#out + 1] = x end
  return out
end
local function gap()
  local f = first_held()
  if f then return result('gap', f[1], {}) end
  return result('gap', '', {})
end
local last = redis.call('HGET', lk, name) or '0-0'

if mode == 'since' then
  local es = redis.call('XRANGE', sk, pos, '+', 'COUNT', limit)
  -- the newest evicted ID: the first held entry's predecessor, or the
  -- newest ID when the stream holds nothing.
  local evicted = last
  local f = first_held()
  if f then evicted = field(f, 'p') end
  if evicted ~= '0-0' and not idless(evicted, pos) then return gap() end
  return result('ok', last, es)
end

if pos == '18446744073709551615-18446744073709551615' then
  return gap() -- eventstore.Tail: no entry can follow it
end
if pos == '0-0' then
  return result('ok', last, redis.call('XRANGE', sk, '-', '+', 'COUNT', limit))
end
local es = redis.call('XRANGE', sk, '(' .. pos, '+', 'COUNT', limit)
if #es > 0 then
  if field(es[1], 'p') == pos then return result('ok', last, es) end
  return gap()
end
if last == pos then return result('ok', last, es) end
return gap()
`)

// trimScript: ARGV[5] minID. Returns {evictions...}.
var trimScript = redis.NewScript(luaPrelude + `
evict_before(name, ARGV[5], ` + reasonTrim + `)
return evs
`)

// deleteScript returns {evictions...}.
var deleteScript = redis.NewScript(luaPrelude + `
drop(name, ` + reasonDelete + `)
return evs
`)
