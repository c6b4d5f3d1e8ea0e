import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Account,
  Accounts,
  type AccountStore,
  passwordProblem,
} from "../../server/accounts.ts";
import { LoginThrottle } from "../../server/login_throttle.ts";
import { ProtocolError } from "../../protocol.ts";

class MemoryStore implements AccountStore {
  rows = new Map<string, Account>();
  get(key: string) {
    return Promise.resolve(this.rows.get(key) ?? null);
  }
  lookalikes = new Map<string, string>();
  lookalike(keys: readonly string[]) {
    for (const key of keys) {
      const found = this.lookalikes.get(key);
      if (found) return this.get(found);
    }
    return Promise.resolve(null);
  }
  add(account: Account, lookalikes: readonly string[]) {
    if (this.rows.has(account.key) || lookalikes.some((key) => this.lookalikes.has(key))) {
      return Promise.resolve(false);
    }
    this.rows.set(account.key, { ...account });
    for (const key of lookalikes) this.lookalikes.set(key, account.key);
    return Promise.resolve(true);
  }
  setHash(key: string, hash: string, old: string) {
    const row = this.rows.get(key);
    if (row?.hash !== old) return Promise.resolve(false);
    row.hash = hash;
    return Promise.resolve(true);
  }
  remove(key: string, hash: string) {
    if (this.rows.get(key)?.hash !== hash) return Promise.resolve(false);
    this.rows.delete(key);
    for (const [lookalike, owner] of this.lookalikes) {
      if (owner === key) this.lookalikes.delete(lookalike);
    }
    return Promise.resolve(true);
  }
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => null, (error) => error);
  assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
  return error.code;
}

test("a password is 4 to 128 characters without spaces", () => {
  assert.match(passwordProblem("abc")!, /at least 4/);
  assert.match(passwordProblem("a b c d")!, /spaces/);
  assert.match(passwordProblem("x".repeat(129))!, /at most 128/);
  assert.equal(passwordProblem("abcd"), null);
});

test("register, identify under any case, change, unregister", async () => {
  const store = new MemoryStore();
  const accounts = new Accounts(store);
  const account = await accounts.register("Alice", "pw-one");
  assert.equal(account.nick, "Alice");
  assert.ok(!store.rows.get("alice")!.hash.includes("pw-one"), "no password is stored in clear");
  assert.equal(await refusal(accounts.register("ALICE", "pw-two")), "already_registered");
  assert.equal((await accounts.identify("alice", "pw-one", "h")).nick, "Alice");
  assert.equal(await refusal(accounts.identify("alice", "pw-two", "h")), "wrong_password");
  assert.equal(await refusal(accounts.identify("bob", "pw-one", "h")), "not_registered");
  await accounts.change("Alice", "pw-one", "pw-two", "h");
  assert.equal(await refusal(accounts.identify("alice", "pw-one", "h2")), "wrong_password");
  await accounts.unregister("Alice", "pw-two", "h2");
  assert.equal(await accounts.find("alice"), null);
});

test("a password changed meanwhile elsewhere is not changed or dropped with the old one", async () => {
  const store = new MemoryStore();
  const accounts = new Accounts(store);
  await accounts.register("erin", "pw-one");
  // Another server sharing the store changes it while this one checks the old password.
  const real = store.get.bind(store);
  store.get = async (key) => {
    const row = await real(key);
    if (!row) return null;
    const read = { ...row };
    row.hash = "changed elsewhere";
    return read;
  };
  assert.equal(await refusal(accounts.change("erin", "pw-one", "pw-two", "h")), "wrong_password");
  assert.equal(await refusal(accounts.unregister("erin", "pw-one", "h")), "wrong_password");
  assert.equal(store.rows.get("erin")!.hash, "changed elsewhere");
});

test("a registered nick holds its look-alikes: they find its account and cannot register", async () => {
  const accounts = new Accounts(new MemoryStore());
  await accounts.register("alice", "pw-one");
  assert.equal((await accounts.find("\u0430lice"))?.nick, "alice"); // a Cyrillic а
  assert.equal((await accounts.find("AIice"))?.nick, "alice"); // a capital I
  assert.equal(await refusal(accounts.register("\u0430lice", "pw-two")), "already_registered");
  assert.equal(await accounts.find("alicia"), null);
});

test("a bad new password is refused before anything is hashed", async () => {
  const accounts = new Accounts(new MemoryStore());
  assert.equal(await refusal(accounts.register("a", "no")), "bad_password");
});

test("wrong passwords are throttled per account and per address", async () => {
  let now = 0;
  const accounts = new Accounts(new MemoryStore(), new LoginThrottle(3, 60_000), () => now);
  await accounts.register("carol", "right-pw");
  await accounts.register("dave", "right-pw");
  for (let i = 0; i < 3; i++) {
    assert.equal(await refusal(accounts.identify("carol", "wrong", "h1")), "wrong_password");
  }
  assert.equal(await refusal(accounts.identify("carol", "right-pw", "h2")), "login_throttled");
  assert.equal(await refusal(accounts.identify("dave", "right-pw", "h1")), "login_throttled");
  assert.equal((await accounts.identify("dave", "right-pw", "h2")).nick, "dave");
  now = 60_000;
  assert.equal((await accounts.identify("carol", "right-pw", "h1")).nick, "carol");
});
