// The --data database's stores, opened at start, or the one line that says why they cannot be:
// the history store checks and locks the database, then accounts and moderation open their tables
// in it. What cannot be used stops the server with an exit status of its own.
import process from "node:process";
import { StartupError } from "../../cli.ts";
import { DataProblem, SqliteMessageStore } from "./history.ts";
import { SqliteAccountStore } from "./accounts.ts";
import { SqliteModerationStore } from "./moderation.ts";

// Exit statuses past 2 (a bad command line): documented in server.ts's usage and the README.
export const EXIT_DATA_UNUSABLE = 3;
export const EXIT_DATA_IN_USE = 4;

export function openStore(
  dir: string,
  options: {
    retainMs: number;
    retainPerRoom: number;
    log: (line: string) => void;
    committed: (seconds: number) => void;
  },
): SqliteMessageStore {
  try {
    // Problems with the database after start are logged even with --quiet: history is at stake.
    const log = (line: string) => process.stderr.write(`${line}\n`);
    return new SqliteMessageStore(dir, { ...options, log });
  } catch (error) {
    if (!(error instanceof DataProblem)) throw error;
    const status = error.inUse ? EXIT_DATA_IN_USE : EXIT_DATA_UNUSABLE;
    throw new StartupError(`cannot use --data: ${error.message}`, status);
  }
}

// The accounts table of the database the history store opened and checked.
export function openAccounts(file: string): SqliteAccountStore {
  try {
    return new SqliteAccountStore(file);
  } catch (error) {
    throw new StartupError(`cannot use --data: accounts in ${file}: ${error}`, EXIT_DATA_UNUSABLE);
  }
}

// The moderation tables (bans, rooms) of the database the history store opened and checked.
export function openModeration(file: string): SqliteModerationStore {
  try {
    return new SqliteModerationStore(file);
  } catch (error) {
    throw new StartupError(
      `cannot use --data: moderation in ${file}: ${error}`,
      EXIT_DATA_UNUSABLE,
    );
  }
}
