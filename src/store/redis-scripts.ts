/**
 * The Lua scripts of the Redis store. Every script touches exactly ONE key (`KEYS[1]`), so each
 * runs atomically on whichever Redis Cluster node owns that key's slot; none reads or writes a
 * second key.
 *
 * A session is a hash under `<prefix>session:<key>`:
 * - `v` version, `r` the record's JSON without its data, `s` lastSeenAt, `e` expiresAt (ms
 *   since epoch): `v`, `s` and `e` win over the copies inside `r`, so a touch rewrites two
 *   small fields, never the data;
 * - `d:<name>` the JSON of each data key, and `f` = `1` saying the data is in those fields, so
 *   that a delta sets and deletes single fields without any JSON being decoded in Lua (Redis's
 *   `cjson` would round numbers to 14 digits and turn `[]` into `{}`). A hash without `f` was
 *   written before: its data is inside `r`, and a delta on it is refused (`UNSUPPORTED`), so the
 *   engine rewrites it whole in the new layout;
 * - `u` the user id and `i` "indexed until": how far the session's entry in that user's index
 *   reaches (its score there). Both are absent for an anonymous session.
 *
 * A user's index is a sorted set under `<prefix>user:<userId>`: member = session key, score = the
 * time (ms since epoch) until which the entry must be kept. Entries whose score has passed are
 * dropped by every index script; the key itself expires with its last entry.
 *
 * Times come from the caller's clock (`ARGV`), and TTLs are relative (`PEXPIRE`), so a clock
 * skew between the app hosts and the Redis host never expires a session early.
 * @module
 */
import { createHash } from 'node:crypto';

/** A script and its SHA-1, for `EVALSHA`. */
export interface LuaScript {
  /** Short name, for error messages. */
  readonly name: string;
  /** The Lua source. */
  readonly source: string;
  /** Hex SHA-1 of `source`: what `EVALSHA` takes. */
  readonly sha1: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** What {@link WRITE} and {@link TOUCH} answer when the user's index must be extended first. */
export const NEEDS_INDEX = -1;

/** What {@link DELTA} answers for a hash written before data had fields of its own. */
export const UNSUPPORTED = -2;

/**
 * A session hash, read whole, answered as ONE string where it can be: the JSON text
 * `[v, s, e, r, {data}]`, put together from the stored texts (the numbers `v`, `s`, `e` as
 * written, `r` and each `d:` value already JSON; only the key names are encoded, with
 * `cjson.encode`, which never touches numbers), so that the client decodes one reply and one
 * JSON text instead of two strings per field. `false` (nil) when the key is absent. A hash
 * of the earlier layout (no `f`), or missing `r`, `v`, `s` or `e`, comes back as `HGETALL`
 * gives it (field, value, ...), for the client to read or to refuse as corrupt. A value that
 * is not JSON makes the whole text fail to parse (undecodable, as before); someone who can
 * write to Redis can add data keys either way, which is what `encryptData` guards against
 * (a sealed record with any key beside its seal is refused).
 */
export const READ = script(
  'read',
  `local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return false end
local f = {}
local data = {}
for n = 1, #h, 2 do
  local name = h[n]
  if string.sub(name, 1, 2) == 'd:' then
    data[#data + 1] = cjson.encode(string.sub(name, 3)) .. ':' .. h[n + 1]
  else
    f[name] = h[n + 1]
  end
end
if f['f'] ~= '1' or not (f['r'] and f['v'] and f['s'] and f['e']) then return h end
return '[' .. f['v'] .. ',' .. f['s'] .. ',' .. f['e'] .. ',' .. f['r'] .. ',{' .. table.concat(data, ',') .. '}]'`,
);

/** Lua that sets `d:<name>` fields from ARGV pairs starting at index `first` (a Lua expression), in batches. */
const SET_DATA_FIELDS = (first: number | string): string => `local batch = {}
for n = ${first}, #ARGV, 2 do
  batch[#batch + 1] = 'd:' .. ARGV[n]
  batch[#batch + 1] = ARGV[n + 1]
  if #batch >= 512 then
    redis.call('HSET', KEYS[1], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('HSET', KEYS[1], unpack(batch)) end`;

/**
 * Compare-and-set write of a session hash.
 * ARGV: mode (`any` | `create` | `version`), expected version, now, ttl ms, version, JSON
 * without data, lastSeenAt, expiresAt, userId, indexed-until from the caller (or ''), has-user
 * (`1` | `0`), then the data as pairs of key and JSON value.
 * Returns 1 written, 0 refused by the guard, {@link NEEDS_INDEX} when the session has a user
 * and neither the caller nor the stored hash proves that the user's index reaches `expiresAt`.
 * A TTL <= 0 writes the record as absent (deletes the key).
 */
export const WRITE = script(
  'write',
  `local now = tonumber(ARGV[3])
local cur = redis.call('HMGET', KEYS[1], 'v', 'e', 'u', 'i')
local live = cur[2] and tonumber(cur[2]) > now
if ARGV[1] == 'create' and live then return 0 end
if ARGV[1] == 'version' and not (live and cur[1] == ARGV[2]) then return 0 end
local ttl = tonumber(ARGV[4])
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
local indexed = false
if ARGV[11] == '1' then
  local expires = tonumber(ARGV[8])
  if ARGV[10] ~= '' and tonumber(ARGV[10]) >= expires then
    indexed = ARGV[10]
  elseif cur[3] == ARGV[9] and cur[4] and tonumber(cur[4]) >= expires then
    indexed = cur[4]
  else
    return ${NEEDS_INDEX}
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[5], 'r', ARGV[6], 's', ARGV[7], 'e', ARGV[8], 'f', '1')
if indexed then redis.call('HSET', KEYS[1], 'u', ARGV[9], 'i', indexed) end
${SET_DATA_FIELDS(12)}
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`,
);

/**
 * Lua for a session with a user (`cur[2]`) about to live until `expires`: the user's index must
 * reach that far. Proof is the caller's fresh index score for the same user (ARGV[5], ARGV[6]),
 * recorded as `i`, or the `i` already stored (`cur[3]`); without either the script answers the
 * user id, and the caller extends the index and runs it again. Shared by {@link TOUCH} and
 * {@link DELTA}, which pass those ARGV at the same positions.
 */
const INDEX_PROOF = `  if ARGV[5] ~= '' and cur[2] == ARGV[6] and tonumber(ARGV[5]) >= expires then
    redis.call('HSET', KEYS[1], 'i', ARGV[5])
  elseif not (cur[3] and tonumber(cur[3]) >= expires) then
    return cur[2]
  end`;

/**
 * Apply a delta to a live session hash: delete and set `d:<name>` fields, add 1 to `v`, move
 * `s` and `e` (and the TTL) forward, never back.
 * ARGV: now, lastSeenAt, expiresAt, ttl ms for that expiresAt, indexed-until from the caller
 * (or ''), the user that value is for, the number of keys to remove, those keys, then the
 * keys to set as pairs of key and JSON value.
 * Returns the new version (an integer >= 1); 0 when missing or expired; {@link UNSUPPORTED}
 * for a hash of the earlier layout; or the session's user id (a string) when that user's index
 * must be extended first, as {@link TOUCH} does.
 */
export const DELTA = script(
  'delta',
  `local cur = redis.call('HMGET', KEYS[1], 'e', 'u', 'i', 'f', 's')
if not cur[1] or tonumber(cur[1]) <= tonumber(ARGV[1]) then return 0 end
if cur[4] ~= '1' then return ${UNSUPPORTED} end
local expires = tonumber(ARGV[3])
local later = expires > tonumber(cur[1])
if later and cur[2] then
${INDEX_PROOF}
end
local removes = tonumber(ARGV[7])
if removes > 0 then
  local fields = {}
  for n = 8, 7 + removes do fields[#fields + 1] = 'd:' .. ARGV[n] end
  redis.call('HDEL', KEYS[1], unpack(fields))
end
${SET_DATA_FIELDS('8 + removes')}
if tonumber(ARGV[2]) > tonumber(cur[5] or '0') then redis.call('HSET', KEYS[1], 's', ARGV[2]) end
if later then
  redis.call('HSET', KEYS[1], 'e', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return redis.call('HINCRBY', KEYS[1], 'v', 1)`,
);

/**
 * Extend a live session: set `s` and `e` and the TTL, nothing else.
 * ARGV: now, lastSeenAt, expiresAt, ttl ms, indexed-until from the caller (or ''), the user
 * that value is for. Returns 1 touched, 0 missing or expired, or the session's user id (a
 * string) when that user's index must be extended first.
 */
export const TOUCH = script(
  'touch',
  `local cur = redis.call('HMGET', KEYS[1], 'e', 'u', 'i')
if not cur[1] or tonumber(cur[1]) <= tonumber(ARGV[1]) then return 0 end
local ttl = tonumber(ARGV[4])
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
if cur[2] then
  local expires = tonumber(ARGV[3])
${INDEX_PROOF}
end
redis.call('HSET', KEYS[1], 's', ARGV[2], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`,
);

/**
 * Delete a session hash. ARGV: now, owner check (`1` | `0`), owner. With the owner check, a
 * session of another user (or an anonymous one) is left alone. A key holding anything but a
 * hash (corrupt data) is deleted too, and counts as no session.
 * Returns `[deleted 0|1, live 0|1, userId|nil, indexed-until|nil]` of what was there.
 */
export const REMOVE = script(
  'remove',
  `local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'hash' then
  if kind == 'none' then return {0, 0} end
  redis.call('DEL', KEYS[1])
  return {1, 0}
end
local cur = redis.call('HMGET', KEYS[1], 'e', 'u', 'i')
if not cur[1] or (ARGV[2] == '1' and cur[2] ~= ARGV[3]) then return {0, 0} end
redis.call('DEL', KEYS[1])
local live = 0
if tonumber(cur[1]) > tonumber(ARGV[1]) then live = 1 end
return {1, live, cur[2], cur[3]}`,
);

/** Drop the entries of a user index whose score has passed (`ARGV[1]` is now). */
const PRUNE = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])`;

/**
 * Add or extend one entry of a user index. ARGV: now, member, wanted score (an integer).
 * The score only ever grows, and strictly: an existing entry at or above the wanted score moves
 * one ms higher, so {@link INDEX_REMOVE} can tell that someone indexed the session again after
 * the score it was given was read. Sets the key's TTL to its farthest entry.
 * Returns the entry's new score, as Redis formats it.
 */
export const INDEX_ADD = script(
  'index-add',
  `${PRUNE}
local want = tonumber(ARGV[3])
local old = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]))
if old and old >= want then want = old + 1 end
redis.call('ZADD', KEYS[1], string.format('%.0f', want), ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.max(1, tonumber(last[2]) - tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil(ttl)))
return redis.call('ZSCORE', KEYS[1], ARGV[2])`,
);

/** The members of a user index, after dropping passed entries. ARGV: now. */
export const INDEX_LIST = script('index-list', `${PRUNE}\nreturn redis.call('ZRANGE', KEYS[1], 0, -1)`);

/**
 * Remove entries of a user index, each only if its score is still the one given.
 * ARGV: member, score, member, score, ... Returns how many were removed.
 */
export const INDEX_REMOVE = script(
  'index-remove',
  `local removed = 0
for n = 1, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[n]) == ARGV[n + 1] then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[n])
  end
end
return removed`,
);
