#!lua name=uvcrawl
-- The shared frontier of a crawl that many uvcrawl workers run through one Redis (7.0+),
-- loaded with FUNCTION LOAD. Each operation is one atomic FCALL; time is the server's.
--
-- KEYS[1] is the crawl's key prefix, e.g. "uvc:{name}:" (the hash tag keeps every key of a
-- crawl in one slot). Under it:
--   cfg      hash   options (the crawl's identity), per_host, delay_ms, max_tries, ttl_ms, state
--   stat     hash   queued, seen, done, failed, requeued, rejected
--   s:<b>    set    seen URLs: 48-bit fingerprint integers in bucket b (an intset: ~8 bytes each)
--   q:<host> list   queued URLs of a host: "url \t depth \t losses \t referrer"
--   ready    zset   hosts with queued URLs that may start a request; score: when (ms)
--   h:<host> hash   inflight, delay_ms (current, raised by throttling), crawl_delay, not_before,
--                   robots (pending|done)
--   robots   hash   host -> robots.txt body as fetched (shared by every worker)
--   lease    hash   url -> "worker \t token \t host \t depth \t kind \t losses \t referrer"
--                   (a dead worker's are found by reading it all: deaths are rare, leases few)
--   workers  zset   live workers; score: when their heartbeat runs out (ms)
--   known    set    every worker that ever joined (to tell a reaped one it is dead)
--   losses (in the lease and queue entries): workers that died holding the URL; it fails
--                   after max_tries instead of killing more
--   rec      hash   url -> the record of its fetch (a JSON line), for export
--   token    string the fencing counter

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The crawl's settings, read once per call (a call sees one crawl: keys[1] never changes
-- within it); fresh() at the start of every function forgets them.
local cfgcache = {}
local function fresh() cfgcache = {} end
local CFG = {'per_host', 'delay_ms', 'max_tries', 'ttl_ms', 'robots'}
local function cfgnum(p, field)
  if cfgcache.per_host == nil then -- all of them in one call
    local v = redis.call('HMGET', p .. 'cfg', unpack(CFG))
    for i, f in ipairs(CFG) do cfgcache[f] = tonumber(v[i] or '0') or 0 end
  end
  return cfgcache[field] or 0
end

-- A host may be offered again at `at` if it has URLs and a free slot.
-- (inflight and not_before as the caller read them, or nil: read here.)
local function offer(p, host, at, inflight, nb)
  if redis.call('LLEN', p .. 'q:' .. host) == 0 then
    redis.call('ZREM', p .. 'ready', host)
    return
  end
  if inflight == nil then
    local h = redis.call('HMGET', p .. 'h:' .. host, 'inflight', 'not_before')
    inflight, nb = tonumber(h[1] or '0'), tonumber(h[2] or '0')
  end
  local per_host = cfgnum(p, 'per_host')
  if per_host > 0 and inflight >= per_host then
    redis.call('ZREM', p .. 'ready', host) -- an ack offers it again
    return
  end
  if (nb or 0) > at then at = nb end
  local cur = redis.call('ZSCORE', p .. 'ready', host)
  if cur == false or tonumber(cur) < at then
    redis.call('ZADD', p .. 'ready', at, host)
  end
end

-- The least gap between request starts on a host: the crawl's delay or its Crawl-delay.
local function host_base(p, hk)
  return math.max(cfgnum(p, 'delay_ms'), tonumber(redis.call('HGET', hk, 'crawl_delay') or '0'))
end

-- Gives back a lease's slot; the host's requests in flight after it (URLs).
local function release(p, host, kind)
  local hk = p .. 'h:' .. host
  if kind == 'R' then
    redis.call('HDEL', hk, 'robots')
    return 0
  end
  local v = redis.call('HINCRBY', hk, 'inflight', -1)
  if v < 0 then
    redis.call('HSET', hk, 'inflight', 0)
    v = 0
  end
  return v
end

local LEASE = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$'


-- Puts back (or fails) every URL a dead worker held.
local function reap(p, now)
  local dead = redis.call('ZRANGEBYSCORE', p .. 'workers', '-inf', now)
  if #dead == 0 then return 0 end
  local isdead = {}
  for _, w in ipairs(dead) do
    isdead[w] = true
    redis.call('ZREM', p .. 'workers', w)
  end
  local max_tries = cfgnum(p, 'max_tries')
  local all = redis.call('HGETALL', p .. 'lease')
  for i = 1, #all - 1, 2 do
    local url = all[i]
    local lw, tok, host, depth, kind, lost, ref = string.match(all[i + 1], LEASE)
    if lw ~= nil and isdead[lw] then
      redis.call('HDEL', p .. 'lease', url)
      release(p, host, kind)
      lost = (tonumber(lost) or 0) + 1
      if kind ~= 'R' and max_tries > 0 and lost >= max_tries then
        redis.call('HSET', p .. 'rec', url, cjson.encode({url = url, status = 0,
          depth = tonumber(depth), error = 'worker lost ' .. lost .. ' times while fetching it'}))
        redis.call('HINCRBY', p .. 'stat', 'done', 1)
        redis.call('HINCRBY', p .. 'stat', 'failed', 1)
      elseif kind ~= 'R' then
        redis.call('LPUSH', p .. 'q:' .. host, url .. '\t' .. depth .. '\t' .. lost .. '\t' .. ref)
        redis.call('HINCRBY', p .. 'stat', 'queued', 1)
        redis.call('HINCRBY', p .. 'stat', 'requeued', 1)
      end
      offer(p, host, now)
    end
  end
  return #dead
end

local function beat(p, worker, now)
  if redis.call('ZADD', p .. 'workers', now + cfgnum(p, 'ttl_ms'), worker) == 1 then
    redis.call('SADD', p .. 'known', worker) -- a new member: first beat of this worker
  end
end

-- A worker that was reaped must not go on: its leases went to others.
local function alive(p, worker)
  return redis.call('ZSCORE', p .. 'workers', worker) ~= false or
         redis.call('SISMEMBER', p .. 'known', worker) == 0
end

-- init(options, per_host, delay_ms, max_tries, ttl_ms[, ignore_robots, seeds]) ->
-- {'created'|'joined', seeds}, {'mismatch', stored options} or {'absent', ''} (no such crawl,
-- and no seeds to start it with). The first worker's options and
-- seeds (newline-separated) define the crawl.
redis.register_function('uvc_init', function(keys, args)
  fresh()
  local p = keys[1]
  local stored = redis.call('HGET', p .. 'cfg', 'options')
  if stored == false then
    -- A worker without seeds joins a crawl; it never starts an empty one.
    if args[7] == '' then return {'absent', ''} end
    redis.call('HSET', p .. 'cfg', 'options', args[1], 'per_host', args[2], 'delay_ms', args[3],
               'max_tries', args[4], 'ttl_ms', args[5], 'state', 'running',
               'robots', args[6] or '0', 'seeds', args[7] or '', 'created', now_ms())
    return {'created', args[7] or ''}
  end
  if stored ~= args[1] then return {'mismatch', stored} end
  return {'joined', redis.call('HGET', p .. 'cfg', 'seeds') or ''}
end)

-- add(worker, then groups of 6: bucket, fingerprint, url, host, depth, referrer) -> how many
-- were new. Links already seen cost one SADD each and nothing else.
redis.register_function('uvc_add', function(keys, args)
  fresh()
  local p, now, added, touched = keys[1], now_ms(), 0, {}
  if not alive(p, args[1]) then return redis.error_reply('DEAD worker was declared dead') end
  for i = 2, #args - 5, 6 do
    if redis.call('SADD', p .. 's:' .. args[i], args[i + 1]) == 1 then
      local host = args[i + 3]
      redis.call('RPUSH', p .. 'q:' .. host, args[i + 2] .. '\t' .. args[i + 4] .. '\t0\t' .. args[i + 5])
      touched[host] = true
      added = added + 1
    end
  end
  for host in pairs(touched) do offer(p, host, now) end -- once per host, not per link
  if added > 0 then
    redis.call('HINCRBY', p .. 'stat', 'queued', added)
    redis.call('HINCRBY', p .. 'stat', 'seen', added)
  end
  return added
end)

-- claim(worker, n) -> {wait_ms, item...}: up to n items {kind, url, depth, referrer, token};
-- kind 'U' a URL to fetch, 'R' the robots.txt of a host (url is the host) to fetch and ack
-- with its body before that host's URLs are handed out. wait_ms: when to ask again when
-- nothing was ready (-1: nothing queued at all).
redis.register_function('uvc_claim', function(keys, args)
  fresh()
  local p, worker, n = keys[1], args[1], tonumber(args[2])
  local now = now_ms()
  if not alive(p, worker) then return redis.error_reply('DEAD worker was declared dead') end
  reap(p, now)
  beat(p, worker, now)
  local out, got, taken = {0}, 0, 0
  local base_delay = cfgnum(p, 'delay_ms')
  local per_host = cfgnum(p, 'per_host')
  local hosts = redis.call('ZRANGEBYSCORE', p .. 'ready', '-inf', now, 'LIMIT', 0, n)
  for _, host in ipairs(hosts) do
    if got >= n then break end
    local hk = p .. 'h:' .. host
    local h = redis.call('HMGET', hk, 'robots', 'inflight', 'delay_ms', 'not_before')
    local robots = h[1]
    if robots == false and cfgnum(p, 'robots') == 0 then
      -- The first worker here fetches robots.txt for everyone.
      local tok = redis.call('INCR', p .. 'token')
      redis.call('HSET', hk, 'robots', 'pending')
      redis.call('HSET', p .. 'lease', host, worker .. '\t' .. tok .. '\t' .. host .. '\t0\tR\t0\t')
      redis.call('ZREM', p .. 'ready', host)
      table.insert(out, {'R', host, '0', '', tostring(tok)})
      got = got + 1
    elseif robots == 'pending' then
      redis.call('ZREM', p .. 'ready', host) -- the robots ack offers it again
    else
      local take = 1
      local inflight = tonumber(h[2] or '0')
      local delay = tonumber(h[3] or base_delay)
      -- Without a delay a host may give several URLs at once, up to its free slots.
      if delay == 0 then
        take = n - got
        if per_host > 0 and per_host - inflight < take then take = per_host - inflight end
      end
      local items = {}
      for _ = 1, take do
        local item = redis.call('LPOP', p .. 'q:' .. host)
        if not item then break end
        table.insert(items, item)
      end
      if #items > 0 then
        -- One counter step and one slot count for the host's batch.
        local tok = redis.call('INCRBY', p .. 'token', #items) - #items
        inflight = redis.call('HINCRBY', hk, 'inflight', #items)
        for _, item in ipairs(items) do
          local url, depth, lost, ref = string.match(item, '^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$')
          tok = tok + 1
          redis.call('HSET', p .. 'lease', url, worker .. '\t' .. tok .. '\t' .. host .. '\t' ..
                     depth .. '\tU\t' .. lost .. '\t' .. ref)
          table.insert(out, {'U', url, depth, ref, tostring(tok)})
        end
        got = got + #items
        taken = taken + #items
      end
      redis.call('ZREM', p .. 'ready', host)
      offer(p, host, now + delay, inflight, tonumber(h[4] or '0'))
    end
  end
  if taken > 0 then redis.call('HINCRBY', p .. 'stat', 'queued', -taken) end
  if got == 0 then
    local first = redis.call('ZRANGE', p .. 'ready', 0, 0, 'WITHSCORES')
    if first[2] then out[1] = math.max(1, tonumber(first[2]) - now)
    elseif tonumber(redis.call('HGET', p .. 'stat', 'queued') or '0') == 0 then out[1] = -1
    else out[1] = 100 end -- hosts wait for slots or robots: ask again soon
  end
  return out
end)

-- ack(worker, token, url, record, throttle_ms) -> 1, or 0 when the lease is not this
-- worker's any more (it was declared dead and the URL went to another): the record is dropped.
-- throttle_ms > 0 (a 429/503 or Retry-After) pushes the host back and doubles its delay;
-- 0 lets a raised delay decay towards the crawl's. For a robots item, record is the body and
-- throttle_ms the Crawl-delay (ms) it sets.
-- A URL's ack: its slot back, its host's delay adapted, its record kept.
local function ack_url(p, now, url, record, throttle, host, hk)
  local inflight = release(p, host, 'U')
  local h = redis.call('HMGET', hk, 'crawl_delay', 'delay_ms', 'not_before')
  local base = math.max(cfgnum(p, 'delay_ms'), tonumber(h[1] or '0'))
  local delay = tonumber(h[2] or base)
  local at = now
  if throttle > 0 then
    delay = math.max(delay * 2, base, 1)
    if delay > 60000 then delay = 60000 end
    at = now + math.max(throttle, delay)
    redis.call('HSET', hk, 'delay_ms', delay)
  elseif delay > base then
    delay = math.max(base, math.floor(delay / 2))
    redis.call('HSET', hk, 'delay_ms', delay)
  end
  redis.call('HSET', p .. 'rec', url, record)
  offer(p, host, at, inflight, tonumber(h[3] or '0'))
  return 2 -- a URL done (1: a robots.txt)
end

local function ack(p, now, worker, token, url, record, throttle)
  local l = redis.call('HGET', p .. 'lease', url)
  if not l then
    redis.call('HINCRBY', p .. 'stat', 'rejected', 1)
    return 0
  end
  local lw, tok, host, _, kind = string.match(l, LEASE)
  if lw ~= worker or tok ~= token then
    redis.call('HINCRBY', p .. 'stat', 'rejected', 1)
    return 0
  end
  redis.call('HDEL', p .. 'lease', url)
  local hk = p .. 'h:' .. host
  if kind ~= 'R' then return ack_url(p, now, url, record, throttle, host, hk) end
  local base = host_base(p, hk)
  redis.call('HSET', p .. 'robots', host, record)
  redis.call('HSET', hk, 'robots', 'done')
  if throttle > base then redis.call('HSET', hk, 'delay_ms', throttle, 'crawl_delay', throttle) end
  offer(p, host, now)
  return 1
end

-- The acks of one call: one heartbeat and one count for all of them.
local function acks(p, worker, args, from, n)
  local now, out, done = now_ms(), {}, 0
  for i = from, from + 4 * (n - 1), 4 do
    local r = ack(p, now, worker, args[i], args[i + 1], args[i + 2], tonumber(args[i + 3]) or 0)
    if r == 2 then done = done + 1 end
    table.insert(out, r > 0 and 1 or 0)
  end
  if done > 0 then redis.call('HINCRBY', p .. 'stat', 'done', done) end
  if #out > 0 and redis.call('ZSCORE', p .. 'workers', worker) ~= false then beat(p, worker, now) end
  return out
end

redis.register_function('uvc_ack', function(keys, args)
  fresh()
  return acks(keys[1], args[1], {args[1], args[2], args[3], args[4], args[5] or '0'}, 2, 1)[1]
end)

-- acks(worker, then groups of 4: token, url, record, throttle_ms) -> {1|0 ...}, one per
-- group, as uvc_ack would answer each.
redis.register_function('uvc_acks', function(keys, args)
  fresh()
  return acks(keys[1], args[1], args, 2, math.floor((#args - 1) / 4))
end)

-- throttle(worker, host, ms): the host answered 429/503 (or Retry-After) and a retry follows:
-- nobody starts a request on it for ms, and its delay doubles (capped at a minute).
redis.register_function('uvc_throttle', function(keys, args)
  fresh()
  local p, host, ms, now = keys[1], args[2], tonumber(args[3]) or 0, now_ms()
  local hk = p .. 'h:' .. host
  local base = host_base(p, hk)
  local delay = tonumber(redis.call('HGET', hk, 'delay_ms') or base)
  delay = math.max(delay * 2, base, 1)
  if delay > 60000 then delay = 60000 end
  redis.call('HSET', hk, 'delay_ms', delay, 'not_before', now + math.max(ms, delay))
  if redis.call('ZSCORE', p .. 'ready', host) ~= false then offer(p, host, now) end
  return 1
end)

-- leave(worker): the worker stops; its leases go back at the next claim of anyone.
redis.register_function('uvc_leave', function(keys, args)
  fresh()
  if redis.call('ZSCORE', keys[1] .. 'workers', args[1]) ~= false then
    redis.call('ZADD', keys[1] .. 'workers', 0, args[1])
  end
  return 1
end)

-- heartbeat(worker) -> 1, or an error when the worker was declared dead.
redis.register_function('uvc_heartbeat', function(keys, args)
  fresh()
  local p, now = keys[1], now_ms()
  if not alive(p, args[1]) then return redis.error_reply('DEAD worker was declared dead') end
  beat(p, args[1], now)
  return 1
end)

-- status() -> {queued, leased, done, failed, seen, workers alive, requeued, rejected, finished,
-- ms since the crawl was created}
-- finished is 1 when the crawl is over: running, nothing queued, no lease outstanding; it is
-- decided here in one atomic read, and remembered.
redis.register_function('uvc_status', function(keys, args)
  fresh()
  local p, now = keys[1], now_ms()
  local function st(f) return tonumber(redis.call('HGET', p .. 'stat', f) or '0') end
  local queued, leased = st('queued'), redis.call('HLEN', p .. 'lease')
  local finished = 0
  if redis.call('HGET', p .. 'cfg', 'state') == 'done' then
    finished = 1
  elseif redis.call('EXISTS', p .. 'cfg') == 1 and queued == 0 and leased == 0 and
         st('seen') > 0 then
    redis.call('HSET', p .. 'cfg', 'state', 'done')
    finished = 1
  end
  return {queued, leased, st('done'), st('failed'), st('seen'),
          redis.call('ZCOUNT', p .. 'workers', now, '+inf'), st('requeued'), st('rejected'),
          finished, now - tonumber(redis.call('HGET', p .. 'cfg', 'created') or now)}
end)

-- robots(host) -> the robots.txt body acked for host, or nil.
redis.register_function{function_name = 'uvc_robots', callback = function(keys, args)
  return redis.call('HGET', keys[1] .. 'robots', args[1])
end, flags = {'no-writes'}}
