// The floor under Parley's server: a pub/sub relay with Parley's runtime edge (runtime.ts) and its
// write path (server/send_queue.ts, the very one sessions use: one write per connection per turn of
// the event loop), and nothing else: no sessions, rooms, codec, flood control or history. It speaks
// the part of Redis's protocol that the benchmark uses (SUBSCRIBE and PUBLISH), so the same load
// generator measures it, Redis and Parley. What Parley costs over this relay is Parley's own; what this relay costs over Redis is
// the runtime's and the edge's.
//
//   deno run -A bench/relay.ts [PORT]     bun bench/relay.ts [PORT]
//
// A tool for measuring, not a server to run: a bad command gets an error and a close, as in Redis,
// but nothing caps memory or input.

import type { Connection } from "../runtime.ts";
import { runtime } from "../runtime/current.ts";
import { SendQueue } from "../server/send_queue.ts";
import { concatBytes } from "../protocol/native.ts";

const ascii = new TextEncoder();
const text = new TextDecoder();
const CRLF = 0x0d0a;
const CRLF_BYTES = ascii.encode("\r\n");
// Replies are arrays of three: a kind, the channel, and the text or the subscription count.
const MESSAGE_HEAD = ascii.encode("*3\r\n$7\r\nmessage\r\n");
const SUBSCRIBE_HEAD = ascii.encode("*3\r\n$9\r\nsubscribe\r\n");
// How long a closing connection may take to be sent what waits for it, an error included.
const CLOSE_FLUSH_MS = 2000;
// Nothing is too slow for the relay: it has no cap, and so never overflows.
const NO_CAP = { capBytes: Infinity, softBytes: Infinity, graceMs: Infinity };
const IGNORE = { overflow() {}, failed() {} };

class Peer {
  #conn: Connection;
  #queue: SendQueue;
  #pending = new Uint8Array(0); // input that ends mid-command
  #subscriptions = new Set<string>();

  constructor(conn: Connection) {
    this.#conn = conn;
    this.#queue = new SendQueue(conn, NO_CAP, IGNORE);
  }

  async serve(): Promise<void> {
    try {
      for (let chunk = await this.#conn.read(); chunk; chunk = await this.#conn.read()) {
        if (!this.#take(chunk)) break;
      }
    } finally {
      for (const peers of channels.values()) peers.delete(this);
      // Whatever is queued, an error included, goes out first. The peer has ended, or is not
      // listened to any more.
      this.#queue.close(null, CLOSE_FLUSH_MS, Promise.resolve());
    }
  }

  send(bytes: Uint8Array): void {
    this.#queue.send(bytes);
  }

  // Acts on every whole command in the input so far; false once the connection must close.
  #take(chunk: Uint8Array): boolean {
    const input = this.#pending.length === 0 ? chunk : concatBytes([this.#pending, chunk]);
    let at = 0;
    while (at < input.length) {
      const command = parseCommand(input, at);
      if (command === null) break; // the rest has not arrived yet
      if (command === "bad" || !this.#act(command.args)) return false;
      at = command.end;
    }
    this.#pending = input.slice(at); // a copy: the runtime reuses its read buffer
    return true;
  }

  #act(args: Uint8Array[]): boolean {
    const name = text.decode(args[0]).toUpperCase();
    if (name === "PUBLISH" && args.length === 3) {
      const channel = text.decode(args[1]);
      const subscribers = channels.get(channel);
      // Encoded once, and sent to every subscriber as it is.
      const message = concatBytes([MESSAGE_HEAD, bulk(args[1]), bulk(args[2])]);
      for (const peer of subscribers ?? []) peer.send(message);
      this.send(ascii.encode(`:${subscribers?.size ?? 0}\r\n`));
      return true;
    }
    if (name === "SUBSCRIBE" && args.length === 2) {
      const channel = text.decode(args[1]);
      let subscribers = channels.get(channel);
      if (!subscribers) channels.set(channel, subscribers = new Set());
      subscribers.add(this);
      this.#subscriptions.add(channel);
      const count = ascii.encode(`:${this.#subscriptions.size}\r\n`);
      this.send(concatBytes([SUBSCRIBE_HEAD, bulk(args[1]), count]));
      return true;
    }
    this.send(ascii.encode(`-ERR this relay knows SUBSCRIBE and PUBLISH only\r\n`));
    return false;
  }
}

const channels = new Map<string, Set<Peer>>();

/** A RESP array of bulk strings at `at`: its parts and where it ends; null if it is incomplete. */
function parseCommand(
  input: Uint8Array,
  at: number,
): { args: Uint8Array[]; end: number } | null | "bad" {
  const count = parseHeader(input, at, 0x2a); // *
  if (count === null || count === "bad") return count;
  const args: Uint8Array[] = [];
  let next = count.end;
  for (let i = 0; i < count.value; i++) {
    const length = parseHeader(input, next, 0x24); // $
    if (length === null || length === "bad") return length;
    const end = length.end + length.value;
    if (end + 2 > input.length) return null;
    if (((input[end] << 8) | input[end + 1]) !== CRLF) return "bad";
    args.push(input.subarray(length.end, end));
    next = end + 2;
  }
  return count.value > 0 ? { args, end: next } : "bad";
}

// `<marker><digits>\r\n` at `at`: the number, and where the line ends.
function parseHeader(
  input: Uint8Array,
  at: number,
  marker: number,
): { value: number; end: number } | null | "bad" {
  if (at >= input.length) return null;
  if (input[at] !== marker) return "bad";
  let value = 0;
  for (let i = at + 1; i < input.length; i++) {
    const byte = input[i];
    if (byte === 0x0d) {
      if (i + 1 >= input.length) return null;
      return input[i + 1] === 0x0a && i > at + 1 ? { value, end: i + 2 } : "bad";
    }
    if (byte < 0x30 || byte > 0x39 || i - at > 10) return "bad";
    value = value * 10 + byte - 0x30;
  }
  return null;
}

function bulk(bytes: Uint8Array): Uint8Array {
  return concatBytes([ascii.encode(`$${bytes.length}\r\n`), bytes, CRLF_BYTES]);
}

const listener = runtime.listen("127.0.0.1", Number(process.argv[2] ?? 0));
console.log(`listening on ${listener.hostname}:${listener.port}`);
for await (const conn of listener) new Peer(conn).serve();
