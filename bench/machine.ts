// The machine the benchmark runs on, read from /proc and a few commands: which cores there are and
// which to pin to, how many files may be open, and what a process has cost in CPU time and memory.
// Linux only; where something cannot be read, the figure is null rather than a guess.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";

/** What the --json report says of the machine. */
export function describeMachine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryBytes: os.totalmem(),
    kernel: os.release(),
  };
}

/** The first line of `binary --version`, or null where it does not run. */
export function versionOf(binary: string): string | null {
  try {
    return execFileSync(binary, ["--version"], { encoding: "utf8" }).split("\n")[0].trim();
  } catch {
    return null;
  }
}

// ---- cores and open files

/** The CPUs this process may run on, from /proc/self/status (null where it cannot be read). */
export function allowedCpus(): number[] | null {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const list = status.match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1];
    if (!list) return null;
    const cpus: number[] = [];
    for (const range of list.split(",")) {
      const [first, last = first] = range.split("-").map(Number);
      for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
    }
    return cpus;
  } catch {
    return null;
  }
}

/** Whether `command` is on the PATH. */
export function hasCommand(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface Pinning {
  serverCpu: number | null;
  benchCpu: number | null;
  note: string;
}

/**
 * Where the server and the load generator run: `auto` puts them on different cores when there
 * are at least two (so that neither measures the other's load), `off` leaves it to the scheduler,
 * and `S,B` names the cores.
 */
export function choosePinning(spec: string): Pinning {
  if (spec === "off") return { serverCpu: null, benchCpu: null, note: "not pinned" };
  if (!hasCommand("taskset")) {
    if (spec !== "auto") throw new Error("Cannot pin: taskset is not installed (util-linux)");
    return { serverCpu: null, benchCpu: null, note: "not pinned: no taskset" };
  }
  if (spec === "auto") {
    const cpus = allowedCpus();
    if (!cpus || cpus.length < 2) {
      return { serverCpu: null, benchCpu: null, note: "not pinned: one core" };
    }
    const pinning = { serverCpu: cpus[cpus.length - 1], benchCpu: cpus[0] };
    return {
      ...pinning,
      note: `server on cpu ${pinning.serverCpu}, bench on cpu ${pinning.benchCpu}`,
    };
  }
  const match = spec.match(/^(\d+),(\d+)$/);
  if (!match) throw new Error(`--pin must be auto, off or SERVER_CPU,BENCH_CPU, not "${spec}"`);
  const [serverCpu, benchCpu] = [Number(match[1]), Number(match[2])];
  return { serverCpu, benchCpu, note: `server on cpu ${serverCpu}, bench on cpu ${benchCpu}` };
}

/** Pins every thread of this process to `cpu`; threads started later inherit it. */
export function pinSelf(cpu: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(process.pid)], {
    stdio: "ignore",
  });
}

/** This process's soft and hard limits on open files (Infinity where they cannot be read). */
function openFileLimits(): [soft: number, hard: number] {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const [, soft, hard] = limits.match(/^Max open files\s+(\S+)\s+(\S+)/m) ?? [];
    const value = (text: string | undefined) =>
      text && /^\d+$/.test(text) ? Number(text) : Infinity;
    return [value(soft), value(hard)];
  } catch {
    return [Infinity, Infinity];
  }
}

/**
 * Makes room for `needed` open files in this process (and the servers it starts, which inherit the
 * limits), raising the limits with prlimit where allowed (root may raise the hard one). Returns
 * the soft limit in force afterwards.
 */
export function ensureOpenFiles(needed: number): number {
  const [soft, hard] = openFileLimits();
  if (soft >= needed) return soft;
  const newSoft = hard === Infinity ? needed : Math.max(needed, hard);
  const newHard = hard === Infinity ? "unlimited" : String(Math.max(newSoft, hard));
  try {
    execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${newSoft}:${newHard}`], {
      stdio: "ignore",
    });
  } catch {
    // not allowed, or no prlimit: the caller reports the limit
  }
  return openFileLimits()[0];
}

// ---- what a process costs, from /proc

let ticksPerSecond = 0;

function clockTicks(): number {
  if (ticksPerSecond === 0) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * User and system CPU seconds that `pid` (all its threads) has used so far; null for no pid, or a
 * process that is gone.
 */
export function cpuSeconds(pid: number | "self" | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name, in parentheses, may hold spaces: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime and stime: fields 14 and 15
    return ticks / clockTicks();
  } catch {
    return null;
  }
}

/** This process's CPU seconds so far. */
export function ownCpuSeconds(): number {
  return cpuSeconds("self") ?? 0;
}

/**
 * CPU seconds that the whole machine has spent busy so far (every core, every process, the kernel
 * included), from /proc/stat; null where it cannot be read. Less the server's and the benchmark's
 * share, it tells whether anything else competed with a run.
 */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
    // cpu  user nice system idle iowait irq softirq steal ...
    const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/)
      .slice(1).map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / clockTicks();
  } catch {
    return null;
  }
}

export interface Memory {
  rssBytes: number;
  /** The high-water mark since the process started, or since resetPeakRss. */
  peakRssBytes: number;
}

/** The memory of `pid`; null for no pid, or a process that is gone (a zombie has none). */
export function memory(pid: number | "self" | null): Memory | null {
  if (pid === null) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (key: string) => status.match(new RegExp(`^${key}:\\s*(\\d+) kB`, "m"))?.[1];
    const [rss, peak] = [kib("VmRSS"), kib("VmHWM")];
    if (rss === undefined || peak === undefined) return null;
    return { rssBytes: Number(rss) * 1024, peakRssBytes: Number(peak) * 1024 };
  } catch {
    return null;
  }
}

/**
 * Resets the peak RSS of `pid` to its current RSS (Linux: clear_refs 5), so that a peak measures a
 * phase rather than startup. False where that is not allowed.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}
