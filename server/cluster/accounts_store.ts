// The accounts of a cluster, kept in its Redis: the same records as the single server's SQLite
// table (server/sqlite/accounts.ts), behind the same AccountStore, and the password attempts
// counted there too, so that every node refuses a nick and throttles a guesser alike. Each key
// names one account or one counter, with its own hash tag, and each change is one script on one
// key: the shape Redis Cluster's sharding needs.
import type { Account, AccountStore, AttemptCounter } from "../accounts.ts";
import { LOGIN_ATTEMPTS, LOGIN_WINDOW_MS } from "../login_throttle.ts";
import { clusterDown } from "./members.ts";
import type { RedisLink } from "./redis_link.ts";

/** A registered nick: a hash of nick (as registered), hash (password.ts's form) and created. */
export const accountKey = (key: string) => `parley:{account:${key}}`;
/** Password attempts counted under `key` ("account:NICK" or "address:HOST") this minute. */
export const attemptsKey = (key: string) => `parley:{attempts:${key}}`;

// Adds an account unless its key exists: two nodes registering one nick at once, one wins.
// KEYS: account. ARGV: nick, hash, created.
const ADD = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'nick', ARGV[1], 'hash', ARGV[2], 'created', ARGV[3])
return 1
`;

// Replaces the hash if it is still the one the old password was checked against: a change made
// meanwhile on another node is not undone. KEYS: account. ARGV: new hash, old hash.
const SET_HASH = `
if redis.call('HGET', KEYS[1], 'hash') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'hash', ARGV[1])
return 1
`;

// Drops the account if its hash is still the one checked. KEYS: account. ARGV: hash.
const REMOVE = `
if redis.call('HGET', KEYS[1], 'hash') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
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

// Accounts change rarely: each script is sent whole (EVAL), which survives a restart of Redis.
async function run(link: RedisLink, script: string, key: string, args: string[]): Promise<number> {
  try {
    return Number(await link.commands.sendCommand(["EVAL", script, "1", key, ...args]));
  } catch {
    throw clusterDown("accounts could not be reached");
  }
}

export class RedisAccountStore implements AccountStore {
  constructor(readonly link: RedisLink) {}

  async get(key: string): Promise<Account | null> {
    let fields: Record<string, string>;
    try {
      fields = await this.link.commands.hGetAll(accountKey(key));
    } catch {
      throw clusterDown("accounts could not be reached");
    }
    if (fields.nick === undefined || fields.hash === undefined) return null;
    return { key, nick: fields.nick, hash: fields.hash, created: Number(fields.created) || 0 };
  }

  async add(account: Account): Promise<boolean> {
    const { key, nick, hash, created } = account;
    return await run(this.link, ADD, accountKey(key), [nick, hash, String(created)]) === 1;
  }

  async setHash(key: string, hash: string, old: string): Promise<boolean> {
    return await run(this.link, SET_HASH, accountKey(key), [hash, old]) === 1;
  }

  async remove(key: string, hash: string): Promise<boolean> {
    return await run(this.link, REMOVE, accountKey(key), [hash]) === 1;
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
      const waitMs = await run(this.link, ATTEMPT, attemptsKey(key), args);
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
    for (const key of keys) await run(this.link, FORGIVE, attemptsKey(key), []);
  }
}
