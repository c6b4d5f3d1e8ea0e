// The benchmark's members, as sockets: over Parley's native protocol, or over Redis pub/sub with a
// subscribing and a publishing connection each (a subscribed Redis connection cannot publish).
// Both speak through the runtime's native sockets (socket.ts), and both look only at the bytes they
// need: a frame's length, a few bytes that say it is a message, and the stamp at the start of its
// text.
import { BenchSocket, type SocketEvents } from "./socket.ts";
import type { DeliveryTracker } from "./delivery_tracker.ts";
import {
  benchNick,
  locateText,
  type MessageTemplate,
  parleyFrame,
  parleyMessage,
  redisMessage,
  respCommand,
  STAMP_BYTES,
} from "./payload.ts";
import { FrameScanner, RespScanner } from "./scanners.ts";
import { Histogram } from "./histogram.ts";
import { SILENT_LINE_CLIENT_MS } from "../protocol/mode.ts";
import { WebSocketMembers } from "./ws_members.ts";

/** Tries at joining one Parley member before the run fails. */
const MAX_JOIN_ATTEMPTS = 5;

/** The benchmark's clock, in whole microseconds; stamps and receipts both read it. */
export function clockUs(): number {
  return Math.floor(performance.now() * 1000);
}

/** What the members speak: Parley's native frames, Redis's RESP, or Parley over WebSocket. */
export type TargetKind = "parley" | "redis" | "ws";

export interface MemberOptions {
  host: string;
  port: number;
  /** With TLS: the authority (PEM) that signed the server's certificate. */
  ca?: string;
  /** Ports of the nodes of a cluster, taken in turn by members; `port` alone if not given. */
  ports?: readonly number[];
  /** Bytes of text per message; 0 for members that never publish. */
  size: number;
  /** Room (Parley) or channel (Redis) of member `i`. */
  roomOf: (member: number) => string;
  /** Parley: whether members ask for their own messages back, as Redis subscribers get theirs. */
  echo: boolean;
}

/** A set of members of one server; member numbers run from 0. */
export interface Members {
  /** Whether a member receives its own messages (Redis: always; Parley: if it asks). */
  readonly echoes: boolean;
  /** Where deliveries are counted; between phases, null, and deliveries are strays. */
  sink: DeliveryTracker | null;
  /** Deliveries that came while no phase was running: must be 0. */
  strays: number;
  /** Reads on the receiving sockets so far: how well the server batches its writes. */
  readonly reads: number;
  /** Messages replayed from the room's history on joining: not this run's, and not counted. */
  readonly history: number;
  /** Joins and leaves of others that members were told of (Parley). */
  readonly notices: number;
  /**
   * Messages that had to be decoded in full (JSON.parse), laid out otherwise than the fast path
   * expects: should stay 0, or the benchmark measures its own parsing.
   */
  readonly parsedInFull: number;
  /** Joins that had to be tried again (Parley: the server took the member for a line client). */
  readonly joinRetries: number;
  /** From connecting to being in the room, per member, in µs. */
  readonly joinLatency: Histogram;
  /** Why the run must stop (a member was closed, the server refused something); empty if fine. */
  readonly failures: string[];
  /** Called on the first failure. */
  onFailure: () => void;
  /** Connects member `i`, and resolves once it is in its room (or rejects). */
  join(member: number): Promise<void>;
  /** Sends `count` messages of `member`, numbered from `firstSeq`, stamped `nowUs`. */
  publish(member: number, firstSeq: number, count: number, nowUs: number): void;
  close(): Promise<void>;
}

export function createMembers(kind: TargetKind, options: MemberOptions): Members {
  if (kind === "ws") return new WebSocketMembers(options);
  return kind === "parley" ? new ParleyMembers(options) : new RedisMembers(options);
}

// Byte values in the hot path.
const M = 0x6d, S = 0x73, G = 0x67, E = 0x65, QUOTE = 0x22, J = 0x6a, L = 0x6c;
const TYPE_AT = '{"type":"'.length; // where a server frame's type begins, as the server writes it
const utf8 = new TextDecoder();

abstract class BaseMembers {
  sink: DeliveryTracker | null = null;
  strays = 0;
  reads = 0;
  history = 0;
  notices = 0;
  parsedInFull = 0;
  joinRetries = 0;
  readonly joinLatency = new Histogram();
  readonly failures: string[] = [];
  onFailure: () => void = () => {};
  protected sockets: BenchSocket[] = [];
  protected templates: MessageTemplate[] = [];
  protected closing = false;
  // Read once per chunk: every frame of a chunk arrived at the same time.
  protected now = 0;

  constructor(protected options: MemberOptions) {}

  protected fail(why: string): void {
    if (this.closing) return;
    this.failures.push(why);
    if (this.failures.length === 1) this.onFailure();
  }

  protected deliver(member: number, bytes: Uint8Array, textAt: number): void {
    if (this.sink) this.sink.deliver(member, bytes, textAt, this.now);
    else this.strays++;
  }

  /** Opens a socket that fails the join, or once joined the run, if it closes. */
  protected connect(
    what: string,
    joined: () => boolean,
    reject: (e: Error) => void,
    events: Omit<SocketEvents, "close">,
  ): BenchSocket {
    const { host, ca } = this.options;
    const ports = this.options.ports;
    const port = ports ? ports[this.sockets.length % ports.length] : this.options.port;
    const socket = new BenchSocket(host, port, ca, {
      ...events,
      close: (why) => {
        if (!joined()) reject(new Error(`${what}: ${why} before it joined`));
        else this.fail(`${what}: ${why}`);
      },
    });
    this.sockets.push(socket);
    return socket;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.sockets.map((socket) => socket.destroy()));
  }
}

class ParleyMembers extends BaseMembers implements Members {
  readonly echoes = this.options.echo;
  protected parleySockets: BenchSocket[] = [];
  // Where the last relayed message's text began in its frame: the next is most likely the same.
  #textGuess = 0;

  async join(member: number): Promise<void> {
    for (let attempt = 1;; attempt++) {
      if (await this.#attempt(member) === "joined") return;
      this.joinRetries++;
      if (attempt === MAX_JOIN_ATTEMPTS) {
        throw new Error(
          `parley member ${member} was taken for a line-mode client ${attempt} times: the ` +
            `server did not read its hello within its ${SILENT_LINE_CLIENT_MS} ms sniff`,
        );
      }
    }
  }

  // One connection and hello. A server that does not read the hello within its silence sniff
  // (SILENT_LINE_CLIENT_MS) takes the member for a person at nc and greets it in line mode: that
  // connection is dropped, and the caller tries again.
  #attempt(member: number): Promise<"joined" | "line mode"> {
    const room = this.options.roomOf(member);
    if (this.options.size > 0) this.templates[member] = parleyMessage(member, this.options.size);
    const what = `parley member ${member}`;
    return new Promise((resolve, reject) => {
      let joined = false;
      let heard = false;
      const problem = (why: string) => joined ? this.fail(why) : reject(new Error(why));
      const scanner = new FrameScanner((bytes, start, end) => {
        // A msg (`{"type":"msg"`) that flags nothing: a flag (`"history":true`, `"action":true`)
        // would end it in `e}`, and a plain one ends in its timestamp's last digit.
        if (
          bytes[start + TYPE_AT] === M && bytes[start + TYPE_AT + 1] === S &&
          bytes[start + TYPE_AT + 2] === G && bytes[start + TYPE_AT + 3] === QUOTE &&
          bytes[end - 2] !== E
        ) {
          const textAt = locateText(bytes, start, end, this.#textGuess);
          if (textAt >= 0 && end - textAt > STAMP_BYTES) {
            this.#textGuess = textAt - start;
            this.deliver(member, bytes, textAt);
            return;
          }
        }
        // Someone joined or left (a J or an L where the type starts): nothing to see.
        const first = bytes[start + TYPE_AT];
        if ((first === J || first === L) && bytes[start + TYPE_AT - 1] === QUOTE) {
          this.notices++;
          return;
        }
        let message;
        try {
          message = JSON.parse(utf8.decode(bytes.subarray(start, end)));
        } catch {
          problem(`${what}: a frame that is not JSON: ${utf8.decode(bytes.subarray(start, end))}`);
          return;
        }
        switch (message?.type) {
          case "welcome":
            joined = true;
            resolve("joined");
            break;
          case "msg":
            // History replayed on joining (from an earlier run, on a server we did not start) is
            // not part of this run.
            if (message.history) {
              this.history++;
            } else {
              this.parsedInFull++;
              this.deliver(member, new TextEncoder().encode(message.text), 0);
            }
            break;
          case "ping":
            socket.write(parleyFrame('{"type":"pong"}'));
            break;
          case "error":
            problem(`${what}: ${message.code}: ${message.message}`);
            break;
        }
      });
      const socket = this.connect(what, () => joined, reject, {
        data: (chunk) => {
          this.now = clockUs();
          this.reads++;
          if (!heard) {
            heard = true;
            // Every native frame starts with 0x00; line mode's banner starts with "*** ".
            if (chunk[0] !== 0) {
              socket.destroy();
              resolve("line mode");
              return;
            }
          }
          scanner.push(chunk);
        },
      });
      this.parleySockets[member] = socket;
      // A native client speaks first, at once: a silent one is taken for a person at nc.
      const hello = {
        type: "hello",
        nick: benchNick(member),
        room,
        echo: this.echoes || undefined,
      };
      socket.write(parleyFrame(JSON.stringify(hello)));
    });
  }

  publish(member: number, firstSeq: number, count: number, nowUs: number): void {
    this.parleySockets[member].write(this.templates[member].stamp(firstSeq, count, nowUs));
  }
}

const STAR = 0x2a, MINUS = 0x2d;

class RedisMembers extends BaseMembers implements Members {
  readonly echoes = true;
  #publishers: BenchSocket[] = [];

  join(member: number): Promise<void> {
    const channel = this.options.roomOf(member);
    const what = `redis member ${member}`;
    const subscribed = new Promise<void>((resolve, reject) => {
      let joined = false;
      const scanner = new RespScanner((bytes, type, firstStart, firstEnd, lastStart) => {
        // ["message", channel, text] or ["subscribe", channel, count]
        if (type === STAR && firstEnd - firstStart === 7 && bytes[firstStart] === M) {
          this.deliver(member, bytes, lastStart);
        } else if (type === STAR && bytes[firstStart] === S) {
          joined = true;
          resolve();
        } else if (type === MINUS) {
          const why = `${what}: ${utf8.decode(bytes.subarray(firstStart, firstEnd))}`;
          if (!joined) reject(new Error(why));
          else this.fail(why);
        }
      });
      const subscriber = this.connect(what, () => joined, reject, {
        data: (chunk) => {
          this.now = clockUs();
          this.reads++;
          scanner.push(chunk);
        },
      });
      subscriber.write(respCommand("SUBSCRIBE", channel));
    });
    if (this.options.size === 0) return subscribed;

    this.templates[member] = redisMessage(member, this.options.size, channel);
    const connected = new Promise<void>((resolve, reject) => {
      let open = false;
      // Each PUBLISH is answered with the number of subscribers it reached; only errors matter.
      const scanner = new RespScanner((bytes, type, firstStart, firstEnd) => {
        if (type === MINUS) {
          this.fail(`${what}'s publisher: ${utf8.decode(bytes.subarray(firstStart, firstEnd))}`);
        }
      });
      this.#publishers[member] = this.connect(`${what}'s publisher`, () => open, reject, {
        data: (chunk) => scanner.push(chunk),
        connect: () => {
          open = true;
          resolve();
        },
      });
    });
    return Promise.all([subscribed, connected]).then(() => {});
  }

  publish(member: number, firstSeq: number, count: number, nowUs: number): void {
    this.#publishers[member].write(this.templates[member].stamp(firstSeq, count, nowUs));
  }
}

/** Joins members 0..count-1, at most `concurrency` at a time, so that no accept queue overflows. */
export async function joinAll(members: Members, count: number, concurrency: number): Promise<void> {
  let next = 0;
  async function worker() {
    while (next < count) {
      const startMs = performance.now();
      await members.join(next++);
      members.joinLatency.record((performance.now() - startMs) * 1000);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
