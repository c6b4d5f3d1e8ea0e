// How many connections the process's limit on open files leaves room for. Every connection is a
// file descriptor from the moment it is accepted, served or turned away; past the limit, accepting
// fails, and a runtime that retries at once spins (Bun did, at 100% CPU) while the connections
// wait unanswered. So the server never lets connections take more descriptors than this budget.
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

/** Descriptors left for the runtime and the database to open later (SQLite's WAL, temp files). */
export const SPARE_DESCRIPTORS = 16;
/** Connections kept for being turned away with an answer, at least. */
export const MIN_REFUSALS = 16;

export interface DescriptorBudget {
  /** The soft limit on open files. */
  limit: number;
  /** Descriptors open when the budget was made: listeners, database, the runtime's own. */
  inUse: number;
  /** Connections open at once, served or being turned away. */
  connections: number;
  /** Of those, how many may be served: the rest is room to answer the ones turned away. */
  clients: number;
}

/** The soft "Max open files" of a /proc/PID/limits text; null if unlimited or absent. */
export function parseOpenFilesLimit(limits: string): number | null {
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  const value = Number(soft);
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

/** What `limit` open files leave for connections when `inUse` are open already. */
export function budgetFor(limit: number, inUse: number): DescriptorBudget {
  const connections = Math.max(0, limit - inUse - SPARE_DESCRIPTORS);
  const refusals = Math.max(MIN_REFUSALS, Math.floor(connections / 8));
  return { limit, inUse, connections, clients: Math.max(0, connections - refusals) };
}

/** This process's budget, or null where its limit cannot be read or is unlimited. */
export function descriptorBudget(): DescriptorBudget | null {
  const limit = openFilesLimit();
  if (limit === null) return null;
  let inUse: number;
  try {
    inUse = readdirSync("/dev/fd").length;
  } catch {
    return null;
  }
  return budgetFor(limit, inUse);
}

// Linux shows it in /proc; elsewhere (macOS, whose default is 256) the shell's `ulimit -n` reports
// the limit it inherited from us.
function openFilesLimit(): number | null {
  try {
    return parseOpenFilesLimit(readFileSync("/proc/self/limits", "utf8"));
  } catch {
    // not Linux
  }
  try {
    const shell = spawnSync("/bin/sh", ["-c", "ulimit -n"], { encoding: "utf8", timeout: 2000 });
    const value = Number(shell.stdout?.trim());
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}
