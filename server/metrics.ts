// What the server counts, and its rendering in Prometheus's text format for /metrics. No I/O.
// Counting is a plain field incremented where the event happens, with no allocation; labelled
// counts are kept in small maps keyed by their label values, touched only when a connection opens
// or closes. Gauges (connections open, rooms, members) are read at scrape time from the state the
// server keeps anyway. Names follow Prometheus's conventions: a `parley_` prefix, base units
// (seconds, bytes), `_total` on counters.
import type { MessageStore } from "./history.ts";

/** How long reads of the history store took, in seconds: the upper bounds of the buckets. */
export const STORE_SECONDS_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1];

/** A cumulative histogram, as Prometheus's: counts per upper bound, a sum and a count. */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= this.bounds[i]) {
        this.counts[i]++;
        return;
      }
    }
  }
}

/** What the server's state says at scrape time. */
export interface Snapshot {
  /** Connections open now, by "transport mode" (mode "none" until it is known). */
  connections: ReadonlyMap<string, number>;
  rooms: number;
  members: number;
}

export class Metrics {
  /** Inputs acted on: messages, commands, hellos. */
  messagesIn = 0;
  /** Messages queued for members (one per member a message reaches). */
  deliveriesOut = 0;
  bytesOut = 0;
  /** Inputs that flood control held back before acting on them. */
  floodDelays = 0;
  /** The latest lateness of the server's sweep timer: how long the event loop was held up. */
  eventLoopLagSeconds = 0;
  readonly storeReadSeconds = new Histogram(STORE_SECONDS_BUCKETS);
  readonly storeCommitSeconds = new Histogram(STORE_SECONDS_BUCKETS);
  #accepted = new Map<string, number>(); // by "transport mode"
  #closes = new Map<string, number>(); // by reason

  /** A connection began to be served in `mode` ("none" if it closed before that was known). */
  accepted(transport: string, mode: string): void {
    const key = `${transport} ${mode}`;
    this.#accepted.set(key, (this.#accepted.get(key) ?? 0) + 1);
  }

  /** A connection closed, for `reason`: an error code, or "peer_closed" or "write_failed". */
  closed(reason: string): void {
    this.#closes.set(reason, (this.#closes.get(reason) ?? 0) + 1);
  }

  render(now: Snapshot): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("parley_connections", "gauge", "Connections open, by transport and mode.");
    for (const [key, value] of now.connections) {
      out.push(`parley_connections${byTransportAndMode(key)} ${value}`);
    }
    family(
      "parley_connections_accepted_total",
      "counter",
      "Connections served, by transport and mode.",
    );
    for (const [key, value] of this.#accepted) {
      out.push(`parley_connections_accepted_total${byTransportAndMode(key)} ${value}`);
    }
    family("parley_connections_closed_total", "counter", "Connections closed, by reason.");
    for (const [reason, value] of this.#closes) {
      out.push(`parley_connections_closed_total{reason="${escapeLabel(reason)}"} ${value}`);
    }
    family("parley_rooms", "gauge", "Rooms open (with someone in them).");
    out.push(`parley_rooms ${now.rooms}`);
    family("parley_members", "gauge", "Members joined, in all rooms.");
    out.push(`parley_members ${now.members}`);
    const counter = (name: string, help: string, value: number) => {
      family(name, "counter", help);
      out.push(`${name} ${value}`);
    };
    counter(
      "parley_messages_received_total",
      "Inputs acted on (messages and commands).",
      this.messagesIn,
    );
    counter(
      "parley_deliveries_total",
      "Messages queued for members, one per member reached.",
      this.deliveriesOut,
    );
    counter("parley_sent_bytes_total", "Bytes queued for members.", this.bytesOut);
    counter("parley_flood_delays_total", "Inputs held back by flood control.", this.floodDelays);
    histogram(
      out,
      "parley_history_store_read_seconds",
      "Reads of the history store.",
      this.storeReadSeconds,
    );
    histogram(
      out,
      "parley_history_store_commit_seconds",
      "Commits to the history store.",
      this.storeCommitSeconds,
    );
    family("parley_event_loop_lag_seconds", "gauge", "How late the server's last timer fired.");
    out.push(`parley_event_loop_lag_seconds ${this.eventLoopLagSeconds}`);
    return out.join("\n") + "\n";
  }
}

function byTransportAndMode(key: string): string {
  const [transport, mode] = key.split(" ");
  return `{transport="${escapeLabel(transport)}",mode="${escapeLabel(mode)}"}`;
}

// Label values as the text format wants them: backslash, quote and newline escaped.
function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

function histogram(out: string[], name: string, help: string, h: Histogram): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i];
    out.push(`${name}_bucket{le="${h.bounds[i]}"} ${cumulative}`);
  }
  out.push(
    `${name}_bucket{le="+Inf"} ${h.count}`,
    `${name}_sum ${h.sum}`,
    `${name}_count ${h.count}`,
  );
}

/** `store`, with its reads timed into `histogram`: they are on the path of members' requests. */
export function timedReads(store: MessageStore, histogram: Histogram): MessageStore {
  const timed = <T>(read: () => T): T => {
    const startedAt = performance.now();
    const found = read();
    histogram.observe((performance.now() - startedAt) / 1000);
    return found;
  };
  return {
    epoch: store.epoch,
    append: (roomKey, message) => store.append(roomKey, message),
    lastId: (roomKey) => store.lastId(roomKey),
    reserve: (roomKey, throughId, done) => store.reserve(roomKey, throughId, done),
    release: (roomKey, lastId) => store.release(roomKey, lastId),
    last: (roomKey, limit) => timed(() => store.last(roomKey, limit)),
    since: (roomKey, afterId, limit) => timed(() => store.since(roomKey, afterId, limit)),
    oldestId: (roomKey) => store.oldestId(roomKey),
    prunedThrough: (roomKey) => store.prunedThrough(roomKey),
    close: () => store.close(),
  };
}
