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

// appendScript appends a batch of events, possibly to several streams, in
// one atomic script: ARGV[5] MaxEventsPerStream, ARGV[6] MaxBytes, ARGV[7]
// MaxStreams, ARGV[8] the number of events, then (stream, type, data) per
// event. KEYS[1] is the first event's stream (it routes the call in a
// cluster; the other streams share its slot through the prefix's hash tag).
// Returns {id per event..., evictions...}.
//
// Per event it costs one XADD (and one HGET per stream); the bookkeeping and
// the bounds are applied once per stream and once per batch.
var appendScript = redis.NewScript(appendSrc)

const appendSrc = luaPrelude + `
local maxlen, maxbytes, maxstreams = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local cnt = tonumber(ARGV[8])

-- IDs come from one counter per prefix, so they are unique across streams
-- (an ID of another stream is unknown here) and survive Delete. A clock
-- that steps back holds the millisecond and raises the sequence.
local lm, ls = -1, 0
local glast = redis.call('HGET', stk, 'last')
if glast then lm, ls = parse(glast) end

local ids = {}
local lastid = {}   -- stream -> its newest ID (its next entry's "p")
local added = {}    -- stream -> {events, bytes}
local seen = {}     -- streams in order of first appearance
local pos = {}      -- stream -> index of its last event in the batch
local sum = 0
for i = 1, cnt do
  local sname, typ, data = ARGV[6 + 3 * i], ARGV[7 + 3 * i], ARGV[8 + 3 * i]
  local prev = lastid[sname]
  if prev == nil then
    prev = redis.call('HGET', lk, sname) or '0-0'
    seen[#seen + 1] = sname
    added[sname] = {0, 0}
  end
  if now > lm then lm, ls = now, 0 else ls = ls + 1 end
  if lm == 0 and ls == 0 then ls = 1 end
  local id = fmt(lm, ls)
  local vk = prefix .. 's:' .. sname
  if typ == '' then
    redis.call('XADD', vk, id, 'p', prev, 'd', data)
  else
    redis.call('XADD', vk, id, 'p', prev, 'd', data, 't', typ)
  end
  ids[i] = id
  lastid[sname] = id
  pos[sname] = i
  local size = #sname + #typ + #data
  local a = added[sname]
  a[1] = a[1] + 1
  a[2] = a[2] + size
  sum = sum + size
end
local newest, newestname = ids[cnt], ARGV[6 + 3 * cnt]
redis.call('HSET', stk, 'last', newest)
redis.call('HINCRBY', stk, 'events', cnt)
total = redis.call('HINCRBY', stk, 'bytes', sum)
-- The LRU order of streams: a store-wide append counter (milliseconds tie).
local n = redis.call('HINCRBY', stk, 'n', cnt)
for _, sname in ipairs(seen) do
  redis.call('HSET', lk, sname, lastid[sname])
  redis.call('HINCRBY', bk, sname, added[sname][2])
  redis.call('ZADD', zk, n - cnt + pos[sname], sname)
end

-- MaxEventsPerStream and MaxAge, per stream appended to.
for _, sname in ipairs(seen) do
  local vk = prefix .. 's:' .. sname
  local len = redis.call('XLEN', vk)
  if len > maxlen then
    local es = redis.call('XRANGE', vk, '-', '+', 'COUNT', len - maxlen)
    local bytes = 0
    for _, e in ipairs(es) do bytes = bytes + esize(e, sname) end
    local through = es[#es][1]
    redis.call('XTRIM', vk, 'MINID', '=', nextid(through))
    account(sname, ` + reasonCount + `, #es, bytes, through)
  end
  agetrim(sname)
end

-- MaxAge: up to 8 idle streams whose newest event expired.
local cutoff = now - maxage
if cutoff > 0 then
  local idle = redis.call('ZRANGE', zk, 0, 7)
  for _, v in ipairs(idle) do
    if lastid[v] == nil then
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
  if v == newestname then v = m[2] end
  if v == nil then break end
  drop(v, ` + reasonStreams + `)
  nstreams = nstreams - 1
end

-- MaxBytes: the oldest events of the least recently appended streams first,
-- never the newest event of the batch.
local idx = 0
while total > maxbytes do
  local m = redis.call('ZRANGE', zk, idx, idx)
  if #m == 0 then break end
  local v = m[1]
  local vk = prefix .. 's:' .. v
  while total > maxbytes do
    local es = redis.call('XRANGE', vk, '-', '+', 'COUNT', 64)
    local k, bytes, through = 0, 0, nil
    for _, e in ipairs(es) do
      if e[1] == newest then break end
      if total - bytes <= maxbytes then break end
      k = k + 1
      bytes = bytes + esize(e, v)
      through = e[1]
    end
    if k == 0 then break end
    redis.call('XTRIM', vk, 'MINID', '=', nextid(through))
    account(v, ` + reasonBytes + `, k, bytes, through)
  end
  idx = idx + 1
end

for _, x in ipairs(evs) do ids[#ids + 1] = x end
return ids
`

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
