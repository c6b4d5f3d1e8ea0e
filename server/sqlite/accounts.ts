// Accounts that outlive the server: a table in the --data database (DIR/parley.db), opened once
// the history store has checked and locked it (history.ts, data_lock.ts). Accounts change rarely
// and are read once a login, so this store works synchronously (behind the interface's promises);
// see BUSY_MS. Beside each account are
// the look-alike keys of its nick (protocol.ts, lookalikeKeys), so that a registered nick also
// holds the nicks that could be taken for it.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Account, AccountStore } from "../accounts.ts";
import { lookalikeKeys, ProtocolError } from "../../protocol.ts";

// How long a write waits for the history store's commit to let go of the lock. Its commits take
// milliseconds, so this is waited out on the event loop only when the database is in trouble, and
// then the member is told to try again rather than the server stalling.
const BUSY_MS = 250;

export class SqliteAccountStore implements AccountStore {
  #db: DatabaseSync;
  #get: StatementSync;
  #lookalike: StatementSync;
  #add: StatementSync;
  #addLookalike: StatementSync;
  #setHash: StatementSync;
  #remove: StatementSync;
  #removeLookalikes: StatementSync;

  /** Opens the accounts table of `file`, an SQLite database the history store has opened. */
  constructor(file: string) {
    this.#db = new DatabaseSync(file);
    this.#db.exec(`PRAGMA busy_timeout = ${BUSY_MS}`);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS accounts (
        nick_key TEXT PRIMARY KEY,
        nick TEXT NOT NULL,
        hash TEXT NOT NULL,
        created INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS account_lookalikes (
        lookalike TEXT PRIMARY KEY,
        nick_key TEXT NOT NULL
      ) WITHOUT ROWID;
    `);
    this.#get = this.#db.prepare(
      "SELECT nick_key, nick, hash, created FROM accounts WHERE nick_key = ?",
    );
    this.#lookalike = this.#db.prepare(
      "SELECT a.nick_key, a.nick, a.hash, a.created FROM account_lookalikes l " +
        "JOIN accounts a ON a.nick_key = l.nick_key WHERE l.lookalike = ?",
    );
    this.#add = this.#db.prepare(
      "INSERT OR IGNORE INTO accounts (nick_key, nick, hash, created) VALUES (?, ?, ?, ?)",
    );
    this.#addLookalike = this.#db.prepare(
      "INSERT OR IGNORE INTO account_lookalikes (lookalike, nick_key) VALUES (?, ?)",
    );
    this.#setHash = this.#db.prepare(
      "UPDATE accounts SET hash = ? WHERE nick_key = ? AND hash = ?",
    );
    this.#remove = this.#db.prepare("DELETE FROM accounts WHERE nick_key = ? AND hash = ?");
    this.#removeLookalikes = this.#db.prepare("DELETE FROM account_lookalikes WHERE nick_key = ?");
    this.#db.exec(
      "DELETE FROM account_lookalikes WHERE nick_key NOT IN (SELECT nick_key FROM accounts)",
    );
    this.#addMissingLookalikes();
  }

  // Accounts registered before look-alikes were kept get theirs now; where two such accounts
  // look alike, the older keeps the shared key.
  #addMissingLookalikes(): void {
    const missing = this.#db.prepare(
      "SELECT nick_key, nick FROM accounts WHERE nick_key NOT IN " +
        "(SELECT nick_key FROM account_lookalikes) ORDER BY created",
    ).all() as Array<{ nick_key: string; nick: string }>;
    for (const { nick_key, nick } of missing) {
      for (const key of lookalikeKeys(nick)) this.#addLookalike.run(key, nick_key);
    }
  }

  get(key: string): Promise<Account | null> {
    return this.#do(() => accountOf(this.#get.get(key) as Row | undefined));
  }

  lookalike(keys: readonly string[]): Promise<Account | null> {
    return this.#do(() => {
      for (const key of keys) {
        const account = accountOf(this.#lookalike.get(key) as Row | undefined);
        if (account) return account;
      }
      return null;
    });
  }

  add(account: Account, lookalikes: readonly string[]): Promise<boolean> {
    const { key, nick, hash, created } = account;
    return this.#do(() => {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        let added = this.#add.run(key, nick, hash, created).changes === 1;
        for (const lookalike of lookalikes) {
          if (!added) break;
          added = this.#addLookalike.run(lookalike, key).changes === 1;
        }
        this.#db.exec(added ? "COMMIT" : "ROLLBACK");
        return added;
      } catch (error) {
        this.#db.exec("ROLLBACK");
        throw error;
      }
    });
  }

  setHash(key: string, hash: string, old: string): Promise<boolean> {
    return this.#do(() => this.#setHash.run(hash, key, old).changes === 1);
  }

  remove(key: string, hash: string): Promise<boolean> {
    return this.#do(() => {
      if (this.#remove.run(key, hash).changes !== 1) return false;
      this.#removeLookalikes.run(key);
      return true;
    });
  }

  close(): void {
    this.#db.close();
  }

  // A database that cannot answer now is the member's error to hear, not the server's end.
  #do<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(
        new ProtocolError(
          "storage_busy",
          `Accounts cannot be reached now (${error}); try again`,
        ),
      );
    }
  }
}

type Row = { nick_key: string; nick: string; hash: string; created: number };

function accountOf(row: Row | undefined): Account | null {
  return row ? { key: row.nick_key, nick: row.nick, hash: row.hash, created: row.created } : null;
}
