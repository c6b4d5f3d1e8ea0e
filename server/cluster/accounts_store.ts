// The accounts of a cluster, kept in its Redis: the same records as the single server's SQLite
// table (server/sqlite/accounts.ts), behind the same AccountStore, and the password attempts
// counted there too, so that every node refuses a nick and throttles a guesser alike. Accounts and
// the index of their nicks' look-alikes (protocol.ts, lookalikeKeys) share one hash tag, so that a
// change (an account and its look-alikes at once) is one script on one shard of a Redis Cluster;
// accounts change rarely, so one shard is plenty. Each attempt counter has a tag of its own.
import type { Account, AccountStore, AttemptCounter } from "../accounts.ts";
import { LOGIN_ATTEMPTS, LOGIN_WINDOW_MS } from "../login_throttle.ts";
import { clusterDown } from "./members.ts";
import type { RedisLink } from "./redis_link.ts";

const ACCOUNTS_TAG = "parley:{accounts}";
/**
 * A registered nick: a hash of nick (as registered), hash (password.ts's form), created, and its
 * look-alike keys (lookalikes, one a line), so that dropping it drops the very keys it added.
 */
export const accountKey = (key: string) => `${ACCOUNTS_TAG}:account:${key}`;
/** A look-alike key of a registered nick: the key of the account that holds it. */
export const lookalikeKey = (key: string) => `${ACCOUNTS_TAG}:lookalike:${key}`;
/** Password attempts counted under `key` ("account:NICK" or "address:HOST") this minute. */
export const attemptsKey = (key: string) => `parley:{attempts:${key}}`;

// Adds an account unless its key or one of its look-alikes is taken: two nodes registering one
// nick (or two look-alike nicks) at once, one wins. KEYS: account, then its look-alike keys.
// ARGV: nick, hash, created, the account's key, its look-alikes (one a line).
const ADD = `
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then return 0 end
end
redis.call('HSET', KEYS[1], 'nick', ARGV[1], 'hash', ARGV[2], 'created', ARGV[3],
  'lookalikes', ARGV[5])
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[4]) end
return 1
`;

// Replaces the hash if it is still the one the old password was checked against: a change made
// meanwhile on another node is not undone. KEYS: account. ARGV: new hash, old hash.
const SET_HASH = `
if redis.call('HGET', KEYS[1], 'hash') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'hash', ARGV[1])
return 1
`;

// Drops the account and the look-alikes it holds if its hash is still the one checked.
// KEYS: account, then its look-alike keys. ARGV: hash, the account's key.
const REMOVE = `
if redis.call('HGET', KEYS[1], 'hash') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[2] then redis.call('DEL', KEYS[i]) end
end
return 1
`;

// Counts one attempt, unless the key has had its attempts this window: then returns the
// milliseconds until the window ends, counting nothing. The window starts at its first attempt
// (INCR with an expiry, as Ergo counts). KEYS: counter. ARGV: attempts, window in ms.
const ATTEMPT = `
local tries = tonumber(redis.call('GET', KEYS[1]) or '0')
if tries >= tonumber(ARGV[1]) then
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then return left end
  redis.call('DEL', KEYS[1])
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

// Takes back one attempt (it succeeded). KEYS: counter.
const FORGIVE = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 0
`;

// Each script runs on the shard of its keys (RedisLink.run), which share one hash tag.
async function run(
  link: RedisLink,
  script: string,
  keys: string[],
  args: string[],
): Promise<number> {
  try {
    return Number(await link.run(script, keys, args));
  } catch {
    throw clusterDown("accounts could not be reached");
  }
}

// What Redis has of `key`, or throws cluster_down.
async function reach<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch {
    throw clusterDown("accounts could not be reached");
  }
}

export class RedisAccountStore implements AccountStore {
  constructor(readonly link: RedisLink) {}

  async get(key: string): Promise<Account | null> {
    const fields = await reach(this.link.commands.hGetAll(accountKey(key)));
    if (fields.nick === undefined || fields.hash === undefined) return null;
    return { key, nick: fields.nick, hash: fields.hash, created: Number(fields.created) || 0 };
  }

  async lookalike(keys: readonly string[]): Promise<Account | null> {
    if (keys.length === 0) return null;
    const owners = await reach(this.link.commands.mGet(keys.map(lookalikeKey)));
    const owner = owners.find((key) => typeof key === "string");
    return owner === undefined ? null : await this.get(owner as string);
  }

  async add(account: Account, lookalikes: readonly string[]): Promise<boolean> {
    const { key, nick, hash, created } = account;
    const keys = [accountKey(key), ...lookalikes.map(lookalikeKey)];
    const args = [nick, hash, String(created), key, lookalikes.join("\n")];
    return await run(this.link, ADD, keys, args) === 1;
  }

  async setHash(key: string, hash: string, old: string): Promise<boolean> {
    return await run(this.link, SET_HASH, [accountKey(key)], [hash, old]) === 1;
  }

  async remove(key: string, hash: string): Promise<boolean> {
    // The look-alikes it was added with: they never change while it is registered.
    const stored = await reach(this.link.commands.hGet(accountKey(key), "lookalikes"));
    const lookalikes = stored ? stored.split("\n").map(lookalikeKey) : [];
    return await run(this.link, REMOVE, [accountKey(key), ...lookalikes], [hash, key]) === 1;
  }
}

/** LoginThrottle's rule (3 attempts a minute a key), counted in Redis for every node at once. */
export class RedisAttemptCounter implements AttemptCounter {
  constructor(
    readonly link: RedisLink,
    readonly attempts = LOGIN_ATTEMPTS,
    readonly windowMs = LOGIN_WINDOW_MS,
  ) {}

  async attempt(keys: readonly string[]): Promise<number> {
    const counted: string[] = [];
    for (const key of keys) {
      const args = [String(this.attempts), String(this.windowMs)];
      const waitMs = await run(this.link, ATTEMPT, [attemptsKey(key)], args);
      if (waitMs > 0) {
        // One key refuses: the attempt counts under none of them.
        await this.forgive(counted);
        return waitMs;
      }
      counted.push(key);
    }
    return 0;
  }

  async forgive(keys: readonly string[]): Promise<void> {
    for (const key of keys) await run(this.link, FORGIVE, [attemptsKey(key)], []);
  }
}
