// What a Session is told when it starts (session.ts): the mode, the limits it enforces, its clock,
// where it logs and counts, and what serves its member.
import type { Mode } from "../protocol/mode.ts";
import type { FloodLimits } from "./flood_gate.ts";
import type { ChatService } from "./handlers.ts";
import type { Accounts } from "./accounts.ts";
import type { LivenessLimits } from "./liveness.ts";
import type { Metrics } from "./metrics.ts";
import type { WireLimits } from "./wire.ts";

export interface SessionOptions extends WireLimits {
  /** A pinned mode, or "auto" to tell from the first bytes. */
  mode: Mode | "auto";
  flood: FloodLimits;
  liveness: LivenessLimits;
  /** Milliseconds from any fixed origin; tests may drive it. */
  clock: () => number;
  /** Bytes queued or in flight to one member past which it is closed at once as too slow. */
  sendQueueBytes: number;
  /** Bytes that may wait for one member for up to `sendQueueGraceMs` (default: the cap). */
  sendQueueSoftBytes?: number;
  sendQueueGraceMs?: number;
  /** How long a closing session may spend delivering what is queued for it. */
  closeFlushMs: number;
  log: (line: string) => void;
  /** Where the session counts what it does, if anywhere. */
  metrics?: Metrics;
  /** What serves the member, if not the Chat given (a node of a cluster: server/cluster/). */
  service?: ChatService;
  /** The registered nicks, when the server keeps any (--data): server/accounts.ts. */
  accounts?: Accounts;
}
