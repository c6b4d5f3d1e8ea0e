// Registered nicks: the nick is the account, as in Ergo. The rules (who may register, identify,
// change or drop a password, and how often a password may be tried) are here; the records are
// kept by an AccountStore (server/sqlite/accounts.ts with --data, server/cluster/accounts_store.ts
// in a cluster), and attempts counted by an AttemptCounter (login_throttle.ts in one process, the
// cluster's in Redis). No I/O here: hashing is password.ts's, and the stores do the storing.
import { lookalikeKeys, nameKey, ProtocolError } from "../protocol.ts";
import { checkPassword, hashPassword } from "./password.ts";
import { LoginThrottle } from "./login_throttle.ts";

export const MIN_PASSWORD_CHARS = 4;
export const MAX_PASSWORD_CHARS = 128;

/** One registered nick as stored: `key` is its nameKey, `nick` as registered. */
export interface Account {
  key: string;
  nick: string;
  hash: string;
  created: number;
}

/**
 * Where accounts are kept. Asynchronous, as Redis is; each change is one atomic step in the store,
 * so that two servers sharing it cannot both register a nick, nor undo each other's new password.
 * Stores throw ProtocolError when they cannot be reached.
 */
export interface AccountStore {
  get(key: string): Promise<Account | null>;
  /** The account one of whose look-alike keys (protocol.ts's lookalikeKeys) is among `keys`. */
  lookalike(keys: readonly string[]): Promise<Account | null>;
  /** Adds `account` under `lookalikes`, its nick's; false if its key or one of those is taken. */
  add(account: Account, lookalikes: readonly string[]): Promise<boolean>;
  /** Replaces the hash of `key` if it is still `old`; false if it is not (or the key is gone). */
  setHash(key: string, hash: string, old: string): Promise<boolean>;
  /** Drops `key` and its look-alikes if its hash is still `hash`; false if it is not (or gone). */
  remove(key: string, hash: string): Promise<boolean>;
}

/** Counts password attempts (see LoginThrottle, which counts them in one process). */
export interface AttemptCounter {
  /** 0 if every key may try now (and the attempt is counted), else milliseconds to wait. */
  attempt(keys: readonly string[], now: number): number | Promise<number>;
  /** Takes back the attempt just counted for `keys`: it succeeded. */
  forgive(keys: readonly string[]): void | Promise<void>;
}

/** Why `password` cannot be one, or null. */
export function passwordProblem(password: string): string | null {
  if (/\s/.test(password)) return "A password cannot hold spaces";
  const chars = [...password].length;
  if (chars < MIN_PASSWORD_CHARS) {
    return `A password needs at least ${MIN_PASSWORD_CHARS} characters`;
  }
  if (chars > MAX_PASSWORD_CHARS) {
    return `A password has at most ${MAX_PASSWORD_CHARS} characters`;
  }
  return null;
}

/** The accounts of a server, or none when it has no durable storage. */
export class Accounts {
  #store: AccountStore;
  #throttle: AttemptCounter;
  #clock: () => number;
  #plainText = false; // passwords are refused, unread: see overPlainText
  /**
   * How long a greeting client that cannot send a password keeps a registered nick before it is
   * renamed (--identify-grace; server/identify_grace.ts); 0 refuses it the nick at once.
   */
  graceMs = 0;

  constructor(
    store: AccountStore,
    throttle: AttemptCounter = new LoginThrottle(),
    clock = Date.now,
  ) {
    this.#store = store;
    this.#throttle = throttle;
    this.#clock = clock;
  }

  /**
   * The same accounts as a connection without encryption sees them when passwords need TLS
   * (--identify-needs-tls): registered nicks are held as ever, but every password it sends is
   * refused with tls_required, before it is checked or counted.
   */
  overPlainText(): Accounts {
    const view = new Accounts(this.#store, this.#throttle, this.#clock);
    view.#plainText = true;
    view.graceMs = this.graceMs;
    return view;
  }

  #refusePlainText(): void {
    if (!this.#plainText) return;
    throw new ProtocolError(
      "tls_required",
      "This server takes passwords over TLS only: connect with TLS (client --tls), or over HTTPS",
    );
  }

  /**
   * The account `nick` belongs to, if it or a nick it could be taken for is registered: whoever
   * registers "alice" owns "аlice" (Cyrillic а) and "AIice" too, as the nicks in a room are told
   * apart (protocol.ts, lookalikeKeys).
   */
  find(nick: string): Promise<Account | null> {
    return this.#store.lookalike(lookalikeKeys(nick));
  }

  /** Registers `nick` with `password`; throws ProtocolError when it cannot be. */
  async register(nick: string, password: string): Promise<Account> {
    this.#refusePlainText();
    const problem = passwordProblem(password);
    if (problem) throw new ProtocolError("bad_password", problem);
    if (await this.find(nick)) throw alreadyRegistered(nick);
    const account = { key: nameKey(nick), nick, hash: await hashPassword(password), created: 0 };
    account.created = this.#clock();
    // Checked again on adding: another member may have registered it while this one hashed.
    if (!(await this.#store.add(account, lookalikeKeys(nick)))) throw alreadyRegistered(nick);
    return account;
  }

  /**
   * The account of `nick`, if `password` is its password, tried from `host`. Throws not_registered,
   * login_throttled (before any hashing) or wrong_password.
   */
  async identify(nick: string, password: string, host: string): Promise<Account> {
    this.#refusePlainText();
    const account = await this.find(nick);
    if (!account) {
      throw new ProtocolError("not_registered", `The nick ${nick} is not registered`);
    }
    const keys = [`account:${account.key}`, `address:${host}`];
    const waitMs = await this.#throttle.attempt(keys, this.#clock());
    if (waitMs > 0) {
      throw new ProtocolError(
        "login_throttled",
        `Too many password attempts; try again in ${Math.ceil(waitMs / 1000)} s`,
      );
    }
    if (!(await checkPassword(password, account.hash))) {
      throw wrongPassword(account.nick);
    }
    await this.#throttle.forgive(keys);
    return account;
  }

  /** Changes the password of `nick` from `old` to `password`. */
  async change(nick: string, old: string, password: string, host: string): Promise<void> {
    this.#refusePlainText();
    const problem = passwordProblem(password);
    if (problem) throw new ProtocolError("bad_password", problem);
    const account = await this.identify(nick, old, host);
    // Another server may have changed it since it was checked: then `old` is no longer it.
    const hash = await hashPassword(password);
    if (!(await this.#store.setHash(account.key, hash, account.hash))) {
      throw wrongPassword(account.nick);
    }
  }

  /** Drops the account of `nick`, whose password `password` must be. */
  async unregister(nick: string, password: string, host: string): Promise<void> {
    const account = await this.identify(nick, password, host);
    if (!(await this.#store.remove(account.key, account.hash))) throw wrongPassword(account.nick);
  }
}

function wrongPassword(nick: string): ProtocolError {
  return new ProtocolError("wrong_password", `Wrong password for ${nick}`);
}

function alreadyRegistered(nick: string): ProtocolError {
  return new ProtocolError("already_registered", `The nick ${nick} is registered already`);
}

/** The refusal of a registered nick to a member that has not proved it owns it. */
export function nickRegistered(nick: string): ProtocolError {
  return new ProtocolError(
    "nick_registered",
    `The nick ${nick} is registered; give its password, or choose another`,
  );
}
