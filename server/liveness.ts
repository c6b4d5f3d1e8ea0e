// Which quiet connections to prod or close, with no I/O and no clock of its own: the server sweeps
// its sessions now and then and passes the time, so tests can drive this without waiting.
import type { Mode } from "../protocol/mode.ts";

export interface LivenessLimits {
  /**
   * A native or legacy connection must have joined (a hello, or its username, accepted) within
   * this, whatever else it sends meanwhile.
   */
  helloTimeoutMs: number;
  /** An input that has begun to arrive must be complete within this (slowloris). */
  readTimeoutMs: number;
  /** A native member silent this long is sent a ping... */
  pingAfterMs: number;
  /** ...and is closed if it stays silent this much longer. */
  pongTimeoutMs: number;
  /** A line or legacy member silent this long is closed; 0 never closes them. */
  idleTimeoutMs: number;
}

export const DEFAULT_LIVENESS_LIMITS: LivenessLimits = {
  helloTimeoutMs: 10_000,
  readTimeoutMs: 15_000,
  pingAfterMs: 60_000,
  pongTimeoutMs: 30_000,
  idleTimeoutMs: 0,
};

export type LivenessVerdict =
  | "ok"
  | "ping"
  | "read_timeout"
  | "hello_timeout"
  | "idle_timeout";

export class Liveness {
  #connectedAt: number;
  #heardAt: number;
  #partialSince: number | null = null;
  #pingedAt: number | null = null;

  constructor(readonly limits: LivenessLimits, now: number) {
    this.#connectedAt = now;
    this.#heardAt = now;
  }

  /** Bytes arrived at `now`; `partial` when an input is still incomplete after them. */
  heard(now: number, partial: boolean): void {
    this.#heardAt = now;
    this.#pingedAt = null;
    if (!partial) this.#partialSince = null;
    else this.#partialSince ??= now;
  }

  /**
   * The server reads this connection again at `now` after holding its input back (flood control):
   * the silence meanwhile was the server's, not the peer's, so every clock starts again.
   */
  resumed(now: number): void {
    this.#heardAt = now;
    this.#pingedAt = null;
    if (this.#partialSince !== null) this.#partialSince = now;
  }

  /**
   * What to do about this connection at `now`, given its mode (null while undecided) and whether
   * it has joined yet (line members are joined as guests at once).
   */
  check(now: number, mode: Mode | null, joined: boolean): LivenessVerdict {
    const { helloTimeoutMs, readTimeoutMs, pingAfterMs, pongTimeoutMs, idleTimeoutMs } =
      this.limits;
    if (this.#partialSince !== null && now - this.#partialSince > readTimeoutMs) {
      return "read_timeout";
    }
    if (mode === null) return "ok";
    if (!joined && mode !== "line") {
      return now - this.#connectedAt > helloTimeoutMs ? "hello_timeout" : "ok";
    }
    if (mode !== "native") {
      return idleTimeoutMs > 0 && now - this.#heardAt > idleTimeoutMs ? "idle_timeout" : "ok";
    }
    if (this.#pingedAt !== null) {
      return now - this.#pingedAt > pongTimeoutMs ? "idle_timeout" : "ok";
    }
    if (now - this.#heardAt > pingAfterMs) {
      this.#pingedAt = now;
      return "ping";
    }
    return "ok";
  }
}
