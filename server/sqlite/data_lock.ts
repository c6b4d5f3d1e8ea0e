// One server per data directory: DIR/parley.lock holds the pid of the server that uses DIR. A
// second server finds it alive and refuses to start; a server that crashed leaves a pid that is no
// longer running, and the next one takes the lock over. (Not SQLite's exclusive locking mode: it
// would also lock out an operator's sqlite3 and a backup, which may read the database meanwhile.)
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { systemProblem } from "../../runtime.ts";

/** Why a data directory cannot be used, as one line naming the path. */
export class DataProblem extends Error {
  /** `inUse`: another running server holds the directory; trying later may succeed. */
  constructor(message: string, readonly inUse = false) {
    super(message);
  }
}

function pidIn(file: string): number {
  try {
    return Number(readFileSync(file, "utf8").trim());
  } catch {
    return 0; // gone meanwhile, or unreadable: nobody holds it
  }
}

function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"; // alive, someone else's
  }
}

export class DataLock {
  readonly file: string;

  private constructor(file: string) {
    this.file = file;
  }

  /** Takes DIR's lock, or throws DataProblem if a running server holds it or it cannot be made. */
  static acquire(dir: string): DataLock {
    const file = path.join(dir, "parley.lock");
    const mine = path.join(dir, `parley.lock.${process.pid}`);
    try {
      writeFileSync(mine, `${process.pid}\n`);
    } catch (error) {
      throw new DataProblem(`cannot write in ${dir}: ${systemProblem(error)}`);
    }
    try {
      // Two attempts: the second after clearing a lock its holder left when it crashed.
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          linkSync(mine, file); // fails if the lock exists, atomically
          return new DataLock(file);
        } catch (error) {
          if ((error as { code?: string }).code !== "EEXIST") {
            throw new DataProblem(`cannot lock ${file}: ${systemProblem(error)}`);
          }
        }
        const holder = pidIn(file);
        if (isRunning(holder)) {
          throw new DataProblem(
            `${dir} is in use by another server (pid ${holder}, see ${file})`,
            true,
          );
        }
        // Stale: replace it atomically with ours, then check that no one else did the same.
        renameSync(mine, file);
        if (pidIn(file) === process.pid) return new DataLock(file);
        writeFileSync(mine, `${process.pid}\n`);
      }
      throw new DataProblem(`${dir} is in use by another server (see ${file})`, true);
    } finally {
      rmSync(mine, { force: true });
    }
  }

  release(): void {
    if (pidIn(this.file) === process.pid) rmSync(this.file, { force: true });
  }
}
