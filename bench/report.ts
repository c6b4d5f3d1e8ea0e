// What a run measured, and how it is told: the figures of each run (as the --json report has them),
// a line for each run as it ends, the median of repeated runs, and the table that people read.

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface MessageRun {
  mode: "closed" | "rate";
  target: string;
  members: number;
  size: number;
  window: number | null;
  offeredRate: number | null;
  /** Deliveries of each message: N (Redis, or Parley with echo) or N - 1. */
  fanout: number;
  messagesPerMember: number;
  join: Joining;
  /** From the first message sent to the last one delivered. */
  seconds: number;
  messages: number;
  deliveries: number;
  expectedDeliveries: number;
  deliveriesPerSecond: number;
  messagesPerSecond: number;
  latencyMs: Latency;
  /** Deliveries per read of a receiving socket: how many messages the server sends per write. */
  deliveriesPerRead: number;
  /** Deliveries the load generator had to decode in full, not as the fast path expects: 0. */
  parsedInFull: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  unexpected: number;
  stalled: boolean;
  failures: string[];
  /** Rate mode: how late the load generator sent messages against their schedule. */
  sendLagMs: { p99: number; max: number } | null;
  /** Rate mode: whether the load generator spun for its sends (its CPU then reads 100%). */
  spin: boolean;
  serverCpuSeconds: number | null;
  /** Of one core, over `seconds`; a cluster's is that of its nodes and Redis together. */
  serverCpuPercent: number | null;
  /** A cluster's CPU by process (node1, node2, redis), of one core; null for one process. */
  serverCpuPercentByProcess?: Record<string, number | null> | null;
  serverPeakRssBytes: number | null;
  serverRssBytes: number | null;
  benchCpuSeconds: number;
  benchCpuPercent: number;
  /**
   * CPU that neither the server nor the benchmark used, of one core: other processes, or kernel
   * work charged to none. Much of it means the run competed for the machine.
   */
  otherCpuPercent: number | null;
}

export interface IdleRun {
  mode: "idle";
  target: string;
  members: number;
  roomSize: number;
  join: Joining;
  rssBeforeBytes: number | null;
  rssAfterBytes: number | null;
  rssPerMemberBytes: number | null;
  serverPeakRssBytes: number | null;
  serverCpuSeconds: number | null;
  benchCpuSeconds: number;
  /**
   * Joins of others that the members had been told of when memory was read (Parley), and how
   * many there are in all: fewer means the server still held some in its send queues.
   */
  joinNotices: { received: number; expected: number } | null;
  failures: string[];
}

export type RunResult = MessageRun | IdleRun;

export interface Joining {
  seconds: number;
  /** From connecting to being in the room, per member. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Joins tried again: Parley took the member for a line-mode client (a stalled server). */
  retries: number;
}

/** One target under one workload, over every run. */
export interface Result {
  target: string;
  mode: RunResult["mode"];
  members: number;
  size: number | null;
  /** Medians of the runs' figures; lost, duplicated, out-of-order and unexpected are sums. */
  median: RunResult;
  runs: RunResult[];
}

// Correctness counts: any run's count matters, so they add up rather than take a median.
const SUMMED = new Set(["lost", "duplicated", "outOfOrder", "unexpected"]);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function combine(key: string, values: unknown[]): unknown {
  if (values.every((value) => typeof value === "number")) {
    const numbers = values as number[];
    return SUMMED.has(key) ? numbers.reduce((a, b) => a + b, 0) : median(numbers);
  }
  if (values.every((value) => typeof value === "boolean")) return values.some(Boolean);
  if (values.every(Array.isArray)) return (values as unknown[][]).flat();
  if (values.every((value) => typeof value === "object" && value !== null)) {
    const objects = values as Record<string, unknown>[];
    return Object.fromEntries(
      Object.keys(objects[0]).map((inner) => [inner, combine(inner, objects.map((o) => o[inner]))]),
    );
  }
  return values[0]; // strings, or nulls: the same in every run
}

export function summarize(runs: RunResult[]): Result {
  const first = runs[0] as unknown as Record<string, unknown>;
  const median = Object.fromEntries(
    Object.keys(first).map((key) => [
      key,
      combine(key, runs.map((run) => (run as unknown as Record<string, unknown>)[key])),
    ]),
  ) as unknown as RunResult;
  return {
    target: runs[0].target,
    mode: runs[0].mode,
    members: runs[0].members,
    size: runs[0].mode === "idle" ? null : runs[0].size,
    median,
    runs,
  };
}

/** Passed: every delivery came exactly once and in order, and nothing failed. */
export function passed(result: Result): boolean {
  const run = result.median;
  if (run.failures.length > 0) return false;
  if (run.mode === "idle") return true;
  return run.lost + run.duplicated + run.outOfOrder + run.unexpected === 0 && !run.stalled;
}

// " (node1 40%, node2 38%, redis 20%)" for a cluster, nothing for a server of one process.
function byProcess(parts: Record<string, number | null> | null | undefined): string {
  if (!parts) return "";
  const each = Object.entries(parts).map(([name, percent]) => `${name} ${percent ?? "?"}%`);
  return ` (${each.join(", ")})`;
}

/** One run in a line, for stderr while the next one starts. */
export function describeRun(run: RunResult): string {
  if (run.mode === "idle") {
    const per = run.rssPerMemberBytes === null ? "?" : (run.rssPerMemberBytes / 1024).toFixed(1);
    return `${per} KiB RSS per member, joined in ${run.join.seconds} s` +
      (run.join.retries ? ` (${run.join.retries} joins retried)` : "") +
      (run.failures.length ? `, ${run.failures[0]}` : "");
  }
  const errors = run.lost + run.duplicated + run.outOfOrder + run.unexpected;
  return `${run.deliveriesPerSecond.toLocaleString("en-US")} deliveries/s, ` +
    `p99 ${run.latencyMs.p99} ms, server CPU ${run.serverCpuPercent ?? "?"}%` +
    byProcess(run.serverCpuPercentByProcess) + ", " +
    `bench CPU ${run.benchCpuPercent}%` + (errors ? `, ${errors} bad deliveries` : "") +
    (run.stalled ? ", STALLED" : "") + (run.failures.length ? `, ${run.failures[0]}` : "");
}

// ---- the table

const thousands = (value: number) => Math.round(value).toLocaleString("en-US");
const fixed = (value: number, places: number) => value.toFixed(places);

function bytes(value: number | null): string {
  if (value === null) return "-";
  const sign = value < 0 ? "-" : "";
  const size = Math.abs(value);
  if (size < 10 * 1024) return `${sign}${Math.round(size)} B`;
  if (size < 10 * 1024 * 1024) return `${sign}${fixed(size / 1024, 1)} KiB`;
  return `${sign}${fixed(size / 1024 / 1024, 1)} MiB`;
}

const percent = (value: number | null) => value === null ? "-" : `${Math.round(value)}%`;

/** Above this share of its core, the load generator may be what a run measures. */
export const GENERATOR_BUSY_PERCENT = 90;
/** Failures listed per result in the table's notes (all are in the JSON). */
const MAX_FAILURES_SHOWN = 3;
/** In rate mode, sends later than this (p99) mean the load generator could not keep up. */
export const GENERATOR_LATE_MS = 2;

// A spinning load generator always reads 100%: how late it sent tells whether it kept up.
const generatorBound = (run: MessageRun) =>
  run.spin
    ? (run.sendLagMs?.p99 ?? 0) > GENERATOR_LATE_MS
    : run.benchCpuPercent >= GENERATOR_BUSY_PERCENT;
/** Above this share of a core used by others, a run competed for the machine. */
export const OTHERS_BUSY_PERCENT = 20;

const noisy = (run: MessageRun) => (run.otherCpuPercent ?? 0) >= OTHERS_BUSY_PERCENT;

function table(header: string[], rows: string[][], leftColumns = 1): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => i < leftColumns ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))
      .join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function messageTable(results: Result[]): string {
  const rated = results.some((result) => result.mode === "rate");
  const header = [
    "target",
    "N",
    "S",
    "K",
    ...(rated ? ["offered/s", "lag p99"] : ["W"]),
    "msgs/s",
    "deliveries/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "lost",
    "dup",
    "ooo",
    "server CPU",
    "server peak RSS",
    "bench CPU",
    "other CPU",
  ];
  const rows = results.map((result) => {
    const run = result.median as MessageRun;
    const busy = generatorBound(run) ? " !" : "";
    const bad = run.lost + run.duplicated + run.outOfOrder + run.unexpected > 0 || run.stalled ||
      run.failures.length > 0;
    return [
      result.target + (bad ? " FAILED" : ""),
      String(run.members),
      String(run.size),
      String(run.messagesPerMember),
      ...(rated
        ? [thousands(run.offeredRate ?? 0), run.sendLagMs ? fixed(run.sendLagMs.p99, 2) : "-"]
        : [String(run.window)]),
      thousands(run.messagesPerSecond),
      thousands(run.deliveriesPerSecond),
      fixed(run.latencyMs.p50, 2),
      fixed(run.latencyMs.p99, 2),
      fixed(run.latencyMs.max, 2),
      String(run.lost),
      String(run.duplicated),
      String(run.outOfOrder + run.unexpected),
      percent(run.serverCpuPercent),
      bytes(run.serverPeakRssBytes),
      percent(run.benchCpuPercent) + (run.spin ? " spin" : "") + busy,
      percent(run.otherCpuPercent) + (noisy(run) ? " ?" : ""),
    ];
  });
  return table(header, rows);
}

function idleTable(results: Result[]): string {
  const header = [
    "target",
    "members",
    "per room",
    "join s",
    "join p99 ms",
    "retries",
    "RSS before",
    "RSS after",
    "RSS per member",
    "peak RSS",
    "notices",
  ];
  const rows = results.map((result) => {
    const run = result.median as IdleRun;
    return [
      result.target + (run.failures.length > 0 ? " FAILED" : ""),
      thousands(run.members),
      thousands(run.roomSize),
      fixed(run.join.seconds, 2),
      fixed(run.join.latencyMs.p99, 1),
      String(run.join.retries),
      bytes(run.rssBeforeBytes),
      bytes(run.rssAfterBytes),
      bytes(run.rssPerMemberBytes),
      bytes(run.serverPeakRssBytes),
      run.joinNotices
        ? `${Math.round((100 * run.joinNotices.received) / Math.max(1, run.joinNotices.expected))}%`
        : "-",
    ];
  });
  return table(header, rows);
}

/** The results as text for people, with notes on what makes a figure suspect. */
export function formatResults(results: Result[], runs: number): string {
  const parts: string[] = [];
  const messages = results.filter((result) => result.mode !== "idle");
  const idle = results.filter((result) => result.mode === "idle");
  if (messages.length > 0) parts.push(messageTable(messages));
  if (idle.length > 0) parts.push(idleTable(idle));
  const notes: string[] = [];
  if (runs > 1) notes.push(`figures are medians of ${runs} runs; lost, dup and ooo are totals`);
  if (idle.length > 0) {
    notes.push(
      "notices: the joins of others the members had heard of when memory was read; under 100% " +
        "means the server still held some in its queues, and they count in its RSS",
    );
  }
  if (messages.length > 0) {
    notes.push(
      "ooo counts out-of-order and unexpected deliveries; server CPU is of one core over the run",
    );
  }
  if (messages.some((result) => generatorBound(result.median as MessageRun))) {
    notes.push(
      `! the load generator used over ${GENERATOR_BUSY_PERCENT}% of its core, or sent over ` +
        `${GENERATOR_LATE_MS} ms late (p99): that run may measure it, not the server`,
    );
  }
  if (messages.some((result) => (result.median as MessageRun).spin)) {
    notes.push(
      "spin: the load generator waited for each send in a busy loop, to send on time; its CPU " +
        "reads 100%, and lag p99 tells whether it kept up",
    );
  }
  if (messages.some((result) => noisy(result.median as MessageRun))) {
    notes.push(
      `? something else used over ${OTHERS_BUSY_PERCENT}% of a core during that run: ` +
        "its figures are suspect",
    );
  }
  const toAll = (run: MessageRun) => run.fanout === run.members;
  const medians = messages.map((result) => result.median as MessageRun);
  if (medians.some(toAll) && !medians.every(toAll)) {
    notes.push(
      "the servers made different numbers of deliveries per message (Parley without --echo: " +
        "N-1, Redis: N); compare msgs/s",
    );
  }
  for (const result of results) {
    const failures = [...new Set(result.median.failures)];
    for (const failure of failures.slice(0, MAX_FAILURES_SHOWN)) {
      notes.push(`${result.target}: ${failure}`);
    }
    if (failures.length > MAX_FAILURES_SHOWN) {
      notes.push(`${result.target}: and ${failures.length - MAX_FAILURES_SHOWN} more failures`);
    }
    const retries = result.runs.reduce((sum, run) => sum + run.join.retries, 0);
    if (retries > 0) {
      notes.push(
        `${result.target} N=${result.members}: ${retries} joins tried again: the server took ` +
          "them for line-mode clients (it did not read their hello within its 500 ms sniff)",
      );
    }
    if (result.mode !== "idle" && (result.median as MessageRun).parsedInFull > 0) {
      notes.push(
        `${result.target} N=${result.members}: ${
          (result.median as MessageRun).parsedInFull
        } messages decoded in full: the server's msg frames no longer match the fast path`,
      );
    }
    if (result.mode !== "idle" && (result.median as MessageRun).stalled) {
      notes.push(`${result.target} N=${result.members}: stalled (no delivery for the stall time)`);
    }
  }
  if (notes.length > 0) parts.push(notes.map((note) => `  ${note}`).join("\n"));
  return parts.join("\n\n") + "\n";
}
