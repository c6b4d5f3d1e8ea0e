// JavaScriptCore compiles hot code on threads of its own, named JITWorker. Where the server has one
// core to itself, a compile that starts while the event loop sleeps keeps that core for the rest of
// the kernel's time slice after the loop wakes, and the messages that woke it wait. A thread at
// SCHED_IDLE gives the core up as soon as anything else wants it: at 100 members and 1000 messages
// a second, Parley on Bun's p99 fell below Redis's in most runs (BENCHMARKS.md, seventh round).
// Code runs in a lower tier until its compile is done, so the event loop does not wait for
// compiles; the cost is that they finish later on a busy core. (A garbage collection does pause the
// compiler threads, at a safe point, and may wait a moment for one to reach it.) Linux with glibc
// only: anywhere else, or if the call fails, nothing changes.
import type * as BunFfi from "bun:ffi";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const SCHED_IDLE = 5; // <sched.h>
const COMPILER_THREAD = "JITWorker";
// JavaScriptCore ends compiler threads that sit idle and starts new ones when work comes, so they
// are looked for again, often enough that a burst after a quiet spell compiles out of the way.
const LOOK_AGAIN_MS = 500;

let yielding = false;

/** From now on, keeps JavaScriptCore's compiler threads from holding up the event loop. */
export function yieldCompilerThreads(): void {
  if (yielding) return;
  const setIdle = idleScheduler();
  if (!setIdle) return;
  yielding = true;
  const yieldAll = () => {
    for (const tid of threadsNamed(COMPILER_THREAD)) setIdle(tid);
  };
  yieldAll();
  setInterval(yieldAll, LOOK_AGAIN_MS).unref();
}

/**
 * A function that puts thread `tid` at SCHED_IDLE and says whether it could (sched_setscheduler
 * through Bun's FFI), or null where there is none. Required rather than imported, so that Deno,
 * which bundles this file with the Bun edge, never loads it.
 */
export function idleScheduler(): ((tid: number) => boolean) | null {
  if (process.platform !== "linux") return null;
  try {
    const ffi = createRequire(import.meta.url)("bun:ffi") as typeof BunFfi;
    const { i32, ptr } = ffi.FFIType;
    const libc = ffi.dlopen("libc.so.6", {
      sched_setscheduler: { args: [i32, i32, ptr], returns: i32 },
    });
    // struct sched_param, whose priority SCHED_IDLE wants 0. Passed as the array itself, which
    // this closure keeps alive: a bare address would outlive it once the collector moved on.
    const noPriority = new Int32Array(1);
    return (tid) => libc.symbols.sched_setscheduler(tid, SCHED_IDLE, noPriority) === 0;
  } catch {
    return null;
  }
}

function threadsNamed(name: string): number[] {
  const found: number[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, "latin1").trimEnd() === name) {
        found.push(Number(tid));
      }
    } catch {
      // the thread ended meanwhile
    }
  }
  return found;
}
