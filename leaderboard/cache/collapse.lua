-- One read at a time per expired board (leaderboard/cache/proxy.py): HAProxy 2.6's cache has
-- no request collapsing, so when a board's copy expires every anonymous reader of it misses
-- at once and goes to the servers. Loaded by HAProxy (lua-load) from the configuration that
-- `manage.py haproxy_config` prints.
--
-- board_read (http-request, before the cache is asked): the first reader of a key (a 64-bit
-- hash of host, method and URL: a hostile reader's long addresses cost the tables 8 bytes
-- each, however long they are; two addresses of one hash only share a wait) goes on as the
-- key's leader, to the cache and, on a miss, to the servers.
-- A reader of the same key that arrives while the leader is out waits here, holding no
-- server's slot, until the leader is answered (then the cache holds the answer) or WAIT_MS
-- passed (then it goes on itself, as every reader did before). A leader the cache answers is
-- out for a moment only. A key whose answer the cache may not keep (no s-maxage: a quiet
-- board, read fresh) lets its readers through without a leader for UNCACHED_MS.
-- board_answered (http-response, the key's answer, from a server or the cache): the leader
-- is done. A leader answered by HAProxy itself (an error) or never holds its key at most
-- WAIT_MS.
--
-- HAProxy 2.6.12 aborts ("!app->applet->init", applet.c) when a request asks the cache a
-- second time after a Lua action yielded: the cache is asked once, after this.

-- A leader slower than this (a loaded host) is not waited for longer: the configuration's
-- `setenv BOARD_COLLAPSE_WAIT_MS` (leaderboard/cache/proxy.py, COLLAPSE_WAIT_MS).
local WAIT_MS = tonumber(os.getenv("BOARD_COLLAPSE_WAIT_MS") or "") or 1000
local STEP_MS = 5
local UNCACHED_MS = 1000
-- The tables' bound: a reader's query strings or stray slugs cannot grow them past it.
local MAX_KEYS = 4096

local leaders = {} -- key -> when its leader went on (ms)
local uncached = {} -- key -> when an answer for it was not storable (ms)
local counts = { [leaders] = 0, [uncached] = 0 }

local function now_ms()
    local t = core.now()
    return t.sec * 1000 + t.usec // 1000
end

local function put(tbl, key, value)
    if tbl[key] == nil then
        if counts[tbl] >= MAX_KEYS then
            for k in pairs(tbl) do
                tbl[k] = nil
            end
            counts[tbl] = 0
        end
        counts[tbl] = counts[tbl] + 1
    end
    tbl[key] = value
end

local function drop(tbl, key)
    if tbl[key] ~= nil then
        tbl[key] = nil
        counts[tbl] = counts[tbl] - 1
    end
end

local function storable(txn)
    local control = txn.http:res_get_headers()["cache-control"]
    if control == nil then
        return false
    end
    for _, value in pairs(control) do
        local seconds = string.match(value, "s%-maxage=(%d+)")
        if seconds ~= nil and tonumber(seconds) > 0 then
            return true
        end
    end
    return false
end

core.register_action("board_read", { "http-req" }, function(txn)
    local address = (txn.f:req_hdr("host") or "") .. " " .. txn.f:method() .. " " .. txn.f:url()
    local key = txn.c:xxh3(address)
    local started = now_ms()
    local fresh_only = uncached[key]
    if fresh_only ~= nil then
        if started - fresh_only < UNCACHED_MS then
            return
        end
        drop(uncached, key)
    end
    local since = leaders[key]
    if since == nil or started - since >= WAIT_MS then
        put(leaders, key, started)
        txn:set_var("txn.board_key", key)
        return
    end
    repeat
        core.msleep(STEP_MS)
        since = leaders[key]
    until since == nil or now_ms() - started >= WAIT_MS
end)

core.register_action("board_answered", { "http-res" }, function(txn)
    local key = txn:get_var("txn.board_key")
    if key == nil then
        return
    end
    drop(leaders, key)
    if not storable(txn) then
        put(uncached, key, now_ms())
    end
end)
