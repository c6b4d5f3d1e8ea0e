// The server under load, end to end: a member that stops reading while thousands of messages go by,
// and a bounded fuzz of all three wire modes from many connections at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, realpathSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import { detectMode, type Mode } from "../../protocol/mode.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../../protocol.ts";
import { concatBytes } from "../../protocol/native.ts";
import {
  type Json,
  LegacyMember,
  LineMember,
  LOOPBACK_ARGS,
  runtimeBinary,
  RUNTIMES,
  ServerProcess,
  TestMember,
  within,
} from "./_helpers.ts";
import { frame, frameHeader, rawFrame } from "../_frames.ts";

interface Memory {
  /** Resident now, in KiB. */
  rssKiB: number;
  /** The most ever resident, in KiB. */
  peakKiB: number;
}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]);
  };
  return { rssKiB: field("VmRSS"), peakKiB: field("VmHWM") };
}

const inMiB = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

/** Set PARLEY_LOAD_REPORT=1 to print the memory figures and the fuzz's counts when they pass. */
const REPORT = Boolean(process.env.PARLEY_LOAD_REPORT);

// --- a member that stops reading ---

const SEND_QUEUE_BYTES = 64 * 1024;
const SENDERS = ["ann", "ben", "cat"];
const TEXT_BYTES = 1000;
/**
 * Messages each sender sends per round, before a ping whose pong paces it. The server handles all
 * the input of one read before it writes anything, and charges what that queues for each member to
 * the member's send queue; so a round must fan out to well under --send-queue, or members that
 * read at once would be closed too. Here a round queues at most 3 * 5 * ~1 KB for anyone.
 */
const ROUND_MESSAGES = 5;
/**
 * The paused member's kernel buffers take about 4 MB on loopback (the server's send buffer grows to
 * net.ipv4.tcp_wmem's 4 MiB) before its send queue starts to fill, some 270 rounds here. Past this
 * many rounds (24 MB for it), the server is not closing it.
 */
const MAX_ROUNDS = 1500;
/**
 * Rounds after the slow member is gone: the others chat on, until some 27,000 messages (27 MB)
 * have come in and twice that gone out, so that a leak of what is relayed would show in memory.
 */
const ROUNDS_AFTER = 1500;
/**
 * How much more the server may be resident at its peak than before the load. The limits bound its
 * own buffers at a few MB (64 KiB of send queue, a 256 KiB read and 50 messages of history for each
 * of four members and one room; the kernel holds the rest). Above that the runtime's heap and JIT
 * grow whatever the limits: by 17 to 19 MB on Deno and 27 to 29 MB on Bun here, and no more than
 * 18 and 30 MB over 6,000 rounds. A server that kept one copy of each message it relayed grows by
 * 76 to 79 MB here, past the bound.
 */
const PEAK_GROWTH_BOUND_KIB = 64 * 1024;

const numbered = (nick: string, seq: number) => `${nick} ${seq} `.padEnd(TEXT_BYTES, ".");
const sequenceOf = (message: Json) => (message.text as string).split(" ")[1];

/**
 * Reads everything a member receives until every other sender has said "done", checking that each
 * sender's messages arrive numbered 0, 1, 2, ... with none missing or out of order.
 */
class Tally {
  /** The next number expected from each sender. */
  readonly expected = new Map<string, number>();
  readonly problems: string[] = [];
  readonly leaves: string[] = [];
  pongs = 0;
  readonly finished: Promise<void>;
  #doneFrom = new Set<string>();
  #waiters: Array<() => void> = [];

  constructor(
    readonly member: TestMember,
    readonly nick: string,
    onLeave: (nick: string) => void,
  ) {
    this.finished = this.#read(onLeave);
    this.finished.catch(() => {}); // awaited by the test; until() reports it meanwhile
  }

  async #read(onLeave: (nick: string) => void): Promise<void> {
    const others = SENDERS.length - 1;
    while (this.#doneFrom.size < others) {
      const message = await this.member.next(`${this.nick}'s next message`);
      if (message === null) throw new Error(`${this.nick} was disconnected`);
      if (message.type === "pong") {
        this.pongs++;
      } else if (message.type === "leave") {
        this.leaves.push(message.nick as string);
        onLeave(message.nick as string);
      } else if (message.type === "msg" && sequenceOf(message) === "done") {
        this.#doneFrom.add(message.from as string);
      } else if (message.type === "msg") {
        const from = message.from as string;
        const expected = this.expected.get(from) ?? 0;
        if (sequenceOf(message) !== String(expected) && this.problems.length < 10) {
          this.problems.push(`got ${from}'s message ${sequenceOf(message)}, expected ${expected}`);
        }
        this.expected.set(from, Number(sequenceOf(message)) + 1);
      } else if (this.problems.length < 10) {
        this.problems.push(`got ${JSON.stringify(message)}`);
      }
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  /** Resolves once `condition` holds, checking it after each message. */
  async until(condition: () => boolean, what: string): Promise<void> {
    while (!condition()) {
      await within(
        Promise.race([
          new Promise<void>((resolve) => this.#waiters.push(resolve)),
          this.finished.then(() => {
            throw new Error(`${this.nick} stopped reading while waiting for ${what}`);
          }),
        ]),
        what,
      );
    }
  }
}

// --- the fuzz ---

/** How long the fuzz runs... */
const FUZZ_MS = 3000;
/** ...unless it has opened this many connections first, on a fast machine. */
const FUZZ_MAX_CONNECTIONS = 5000;
/** Connections open at once. */
const FUZZ_CONCURRENCY = 30;
/** How long a connection that ends politely waits for the server to close before it gives up. */
const FUZZ_LINGER_MS = 250;
/** Set PARLEY_FUZZ_SEED to replay a failure; otherwise every run fuzzes afresh. */
const FUZZ_SEED = process.env.PARLEY_FUZZ_SEED === undefined
  ? Math.floor(Math.random() * 2 ** 32)
  : Number(process.env.PARLEY_FUZZ_SEED) >>> 0;

/** mulberry32: tiny, and the same sequence from the same seed on every runtime. */
class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** A whole number from `low` to `high`, both included. */
  between(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.between(0, items.length - 1)];
  }

  bytes(count: number): Uint8Array {
    return Uint8Array.from({ length: count }, () => this.between(0, 255));
  }

  /** `count` code points, mostly printable ASCII, some controls, some far beyond. */
  text(count: number): string {
    return String.fromCodePoint(
      ...Array.from({ length: count }, () =>
        this.pick([
          () => this.between(0x20, 0x7e),
          () => this.between(0x20, 0x7e),
          () => this.between(0, 0x1f),
          () => this.between(0x7f, 0x9f),
          () => this.pick([0x200b, 0x202e, 0x2028, 0xfeff, 0xfffd]),
          () => this.between(0xa0, 0xd7ff),
          () => this.between(0x1f300, 0x1f6ff),
        ])()),
    );
  }
}

const utf8 = new TextEncoder();
const bytesOf = (text: string) => utf8.encode(text);

function fuzzName(r: Random): string {
  return r.pick([
    () => `fz${r.between(0, 999)}`,
    () => r.text(r.between(0, 40)),
    () => r.pick(["", "*", "a b", "<x>", "/x", "guest1", "lobby", "LOBBY", "ünï", "\u202e"]),
    () => "n".repeat(r.between(30, 40)),
  ])();
}

function fuzzText(r: Random): string {
  return r.pick([
    () => r.text(r.between(0, 60)),
    () => r.pick(["hello", "", " ", "\t", "\x1b[2J\x1b[H", "\r\n", "\0", "//", "/me waves"]),
    () => "x".repeat(r.between(4090, 4100)),
    () => "é".repeat(r.between(2040, 2050)),
  ])();
}

/** A native message, valid or nearly: every client type, and values of the wrong shapes. */
function fuzzMessage(r: Random): unknown {
  const id = () => r.pick([0, 1, -1, 1.5, 2 ** 53, "1", null]);
  return r.pick<() => unknown>([
    () => ({ type: "hello", nick: fuzzName(r) }),
    () => ({ type: "hello", nick: fuzzName(r), room: fuzzName(r), since: id() }),
    () => ({ type: "msg", text: fuzzText(r) }),
    () => ({ type: "msg", text: fuzzText(r), action: r.pick([true, false, "yes"]) }),
    () => ({ type: "msg", text: fuzzText(r), room: fuzzName(r) }),
    () => ({ type: "msg", text: fuzzText(r), to: fuzzName(r) }),
    () => ({ type: "nick", nick: fuzzName(r) }),
    () => ({ type: "join", room: fuzzName(r), since: id() }),
    () => ({ type: "part", room: fuzzName(r) }),
    () => ({ type: "who", room: r.pick([undefined, fuzzName(r)]) }),
    () => ({ type: "history", room: fuzzName(r), after: id() }),
    () => ({ type: r.pick(["rooms", "ping", "pong", "welcome", "error", "", "__proto__"]) }),
    () => ({ type: r.pick([5, null, ["msg"], { type: "msg" }]), text: "x" }),
    () => ({ type: "msg", text: r.pick([5, null, ["x"], { toString: "x" }]) }),
    () => r.pick([null, 0, "msg", [], [{ type: "msg", text: "x" }], true]),
    () => JSON.parse(`{"type":"msg","text":"x","__proto__":{"type":"hello"}}`),
  ])();
}

/** A payload that is no JSON object at all: not UTF-8, not JSON, or deeply nested. */
function fuzzPayload(r: Random): Uint8Array {
  return r.pick([
    () => r.bytes(r.between(1, 300)),
    () => bytesOf(r.text(r.between(1, 100))),
    () => new Uint8Array([0xc3, 0x28, 0xed, 0xa0, 0x80, 0xff]),
    () => bytesOf("[".repeat(r.between(1000, 60_000))),
    () => bytesOf(`{"type":"msg","text":"${"\\u0000".repeat(r.between(1, 800))}"}`),
    () => bytesOf(`{"type":"msg","text":"x"`),
  ])();
}

/** One encoded frame, of either framing, with bits flipped, cut short, padded, or a byte replaced. */
function mutate(r: Random, bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  switch (r.between(0, 3)) {
    case 0:
      for (let flips = r.between(1, 4); flips > 0; flips--) {
        copy[r.between(0, copy.length - 1)] ^= 1 << r.between(0, 7);
      }
      return copy;
    case 1:
      return copy.subarray(0, r.between(0, copy.length - 1));
    case 2:
      return concatBytes([copy, r.bytes(r.between(1, 40))]);
    default:
      copy[r.between(0, copy.length - 1)] = r.pick([0x00, 0x0a, 0x20, 0x30, 0xff]);
      return copy;
  }
}

function nativeStream(r: Random): Uint8Array {
  const frames: Uint8Array[] = [];
  for (let count = r.between(1, 40); count > 0; count--) {
    const message = r.chance(0.15) ? rawFrame(fuzzPayload(r)) : frame(fuzzMessage(r));
    if (r.chance(0.1)) {
      // A header whose length is not the payload's: too big, zero, or merely wrong.
      const length = r.pick([0, 1, 65536, 65537, 2 ** 24 - 1, 2 ** 32 - 1, r.between(0, 70_000)]);
      frames.push(frameHeader(length), message.subarray(4));
    } else {
      frames.push(r.chance(0.3) ? mutate(r, message) : message);
    }
  }
  return concatBytes(frames);
}

const IAC = 255;

function fuzzLine(r: Random): Uint8Array {
  const body = r.pick<() => Uint8Array>([
    () => bytesOf(r.text(r.between(0, 80))),
    () => bytesOf(fuzzText(r)),
    () => bytesOf(`/nick ${fuzzName(r)}`),
    () => bytesOf(`/me ${fuzzText(r)}`),
    () => bytesOf(r.pick(["/who", "/help", "/rooms", "/NICK", "/nick", "/me", "//x", "/", "/?"])),
    () => bytesOf(`/${r.pick(["join", "part", "msg", "who", "history"])} ${fuzzName(r)} x`),
    () => bytesOf(`/${r.text(r.between(1, 50))}`),
    () => r.bytes(r.between(1, 200)).map((byte) => byte === 0x0a ? 0x0d : byte),
    () => new Uint8Array(r.between(4090, 20_000)).fill(r.pick([0x78, 0x0d, 0x00, 0x1b])),
    // Telnet: an option, a subnegotiation, an escaped 255, and one left open for the next line.
    () => new Uint8Array([IAC, r.between(251, 254), r.between(0, 255), 0x68, 0x69]),
    () =>
      concatBytes([new Uint8Array([IAC, 250]), r.bytes(r.between(0, 20)), Uint8Array.of(IAC, 240)]),
    () => new Uint8Array([0x61, IAC, IAC, 0x62, IAC, r.between(240, 249)]),
    () => new Uint8Array([IAC, 250, 0x0a, 0x0a, 0x61]),
    () => new Uint8Array([IAC]),
  ]);
  return concatBytes([body(), bytesOf(r.pick(["\n", "\n", "\r\n", "\r", ""]))]);
}

function lineStream(r: Random): Uint8Array {
  const lines = Array.from({ length: r.between(1, 30) }, () => fuzzLine(r));
  return concatBytes(lines);
}

function legacyStream(r: Random): Uint8Array {
  const frames: Uint8Array[] = [
    LegacyMember.encode(r.chance(0.8) ? `fz${r.between(0, 999)}` : fuzzName(r)),
  ];
  for (let count = r.between(0, 30); count > 0; count--) {
    const message = LegacyMember.encode(fuzzText(r));
    frames.push(
      r.pick<() => Uint8Array>([
        () => message,
        () => message,
        () => mutate(r, message),
        () =>
          concatBytes([
            bytesOf(r.pick(["0", "-5", "5x", "1e3", "0x10", "1__0", "_5", "+-5"]).padEnd(10)),
            message,
          ]),
        () => concatBytes([bytesOf("99999999999"), message]),
        // What Python's int(header.strip()) reads, as the tutorial's server does: a good header.
        () => {
          const payload = bytesOf(fuzzText(r));
          const length = String(payload.length);
          const header = r.pick([` ${length}`, `+${length}`, `\t${length}\n`, `0_${length}`]);
          return concatBytes([bytesOf(header.padEnd(10)), payload]);
        },
        () => concatBytes([bytesOf(String(r.between(65530, 65540)).padEnd(10)), r.bytes(100)]),
        () => concatBytes([r.bytes(10), message]),
        () => concatBytes([bytesOf("3".padEnd(10)), r.bytes(3)]),
      ])(),
    );
  }
  return concatBytes(frames);
}

type FuzzKind = Mode | "random";
const FUZZ_KINDS: readonly FuzzKind[] = ["native", "line", "legacy", "random"];

function fuzzStream(r: Random, kind: FuzzKind): Uint8Array {
  switch (kind) {
    case "native":
      return nativeStream(r);
    case "line":
      return lineStream(r);
    case "legacy":
      return legacyStream(r);
    case "random":
      return r.bytes(r.between(1, 5000));
  }
}

const SERVER_TYPES = new Set([
  "welcome",
  "joined",
  "msg",
  "history_end",
  "history_gap",
  "join",
  "leave",
  "nick",
  "who",
  "rooms",
  "notice",
  "error",
  "ping",
  "pong",
]);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const CONTROL = /\p{Cc}/u;

/**
 * What is wrong with the complete frames or lines the server sent, in the mode it took the
 * connection for: a frame that does not parse, a type it never sends, chat carrying control
 * characters from someone else. A cut-off last frame is fine: the connection closed mid-write.
 */
function outputProblems(mode: Mode, output: Uint8Array): string[] {
  const problems: string[] = [];
  const bytes = Buffer.from(output);
  let at = 0;
  if (mode === "native") {
    while (bytes.length - at >= 4) {
      const length = bytes.readUInt32BE(at);
      if (bytes.length - at - 4 < length) break;
      let message: Json;
      try {
        message = JSON.parse(strictUtf8.decode(bytes.subarray(at + 4, at + 4 + length)));
      } catch (error) {
        problems.push(`a frame of ${length} bytes that is not UTF-8 JSON: ${error}`);
        break;
      }
      if (!SERVER_TYPES.has(message?.type as string)) {
        problems.push(`a frame of unknown type: ${JSON.stringify(message)}`);
      }
      if (message.type === "msg" && CONTROL.test(String(message.text))) {
        problems.push(`chat with a control character: ${JSON.stringify(message)}`);
      }
      at += 4 + length;
    }
  } else if (mode === "legacy") {
    while (bytes.length - at >= 10) {
      const header = bytes.subarray(at, at + 10).toString("latin1");
      if (!/^\d+ *$/.test(header)) {
        problems.push(`a legacy header ${JSON.stringify(header)}`);
        break;
      }
      const length = Number(header.trim());
      if (bytes.length - at - 10 < length) break;
      try {
        strictUtf8.decode(bytes.subarray(at + 10, at + 10 + length));
      } catch {
        problems.push(`a legacy payload that is not UTF-8`);
      }
      at += 10 + length;
    }
  } else {
    const complete = bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1);
    let text = "";
    try {
      text = strictUtf8.decode(complete);
    } catch {
      problems.push("line output that is not UTF-8");
    }
    for (const line of text.split("\n").slice(0, -1)) {
      // `[12:00] ` on history, `[room] ` outside the lobby; `<nick> ` or `*nick* ` for chat,
      // `* ` for an action, `*** ` for a notice.
      const form = /^(\[\d\d:\d\d\] )?(\[\S+\] )?(\*\*\* |\* |<[^\s<>*/]+> |\*[^\s<>*/]+\* )/
        .exec(line);
      if (!form) {
        problems.push(`a line that is neither chat nor a notice: ${JSON.stringify(line)}`);
      } else if (form[3] !== "*** " && CONTROL.test(line)) {
        problems.push(`chat with a control character: ${JSON.stringify(line)}`);
      }
    }
  }
  return problems;
}

interface FuzzTally {
  connections: Record<FuzzKind, number>;
  receivedBytes: Record<FuzzKind, number>;
  problems: string[];
}

/**
 * One fuzz connection: sends a stream in pieces of random sizes, and ends it with a reset, a close
 * mid-stream (often mid-frame), or an end of input after which it waits a little for the server to
 * close. Some reset the moment they connect, which the server may see before it has accepted them.
 * Resolves once the socket is closed; `stop` ends it early.
 */
async function fuzzConnection(
  port: number,
  r: Random,
  tally: FuzzTally,
  stop: Promise<void>,
): Promise<void> {
  const kind = r.pick(FUZZ_KINDS);
  const stream = fuzzStream(r, kind);
  const ending = r.chance(0.05) ? "reset at once" : r.pick(["reset", "close", "end", "end"]);
  const sendBytes = ending === "end"
    ? stream.length
    : ending === "reset at once"
    ? 0
    : r.between(0, stream.length);
  // Now and then a connection is silent first, so that the server takes it for a person at nc.
  const silentFirst = ending !== "reset at once" && r.chance(0.03);
  tally.connections[kind]++;

  const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  socket.on("error", () => {}); // resets and refused writes end the connection like anything else
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const ended = Promise.race([closed, stop]);
  await Promise.race([new Promise((resolve) => socket.once("connect", resolve)), ended]);

  if (silentFirst) {
    await Promise.race([new Promise((resolve) => socket.once("data", resolve)), ended]);
  }
  let sent = 0;
  while (sent < sendBytes && socket.writable) {
    const size = Math.min(sendBytes - sent, r.chance(0.2) ? 1 : r.between(1, 8192));
    const piece = stream.subarray(sent, sent + size);
    const written = new Promise<boolean>((resolve) =>
      socket.write(piece, (error) => resolve(!error))
    );
    if (!await Promise.race([written, ended.then(() => false)])) break;
    sent += size;
  }
  if (ending.startsWith("reset") && !socket.destroyed) {
    socket.resetAndDestroy();
  } else if (ending === "end" && socket.writable) {
    socket.end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      ended,
      new Promise((resolve) => timer = setTimeout(resolve, FUZZ_LINGER_MS)),
    ]);
    clearTimeout(timer);
  }
  socket.destroy();
  await closed;

  const output = concatBytes(received);
  tally.receivedBytes[kind] += output.length;
  const mode = silentFirst ? "line" : detectMode(stream.subarray(0, sent), DEFAULT_MAX_FRAME_BYTES);
  if (mode && sent > 0 && tally.problems.length < 20) {
    for (const problem of outputProblems(mode, output)) {
      tally.problems.push(`${kind} connection taken as ${mode}: ${problem}`);
    }
  }
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `load [${runtime}] ${behaviour}`;

  test(
    name("closes a member that stops reading at its queue's cap; the rest get all, in order"),
    async () => {
      const args = ["--rate", "0", "--send-queue", String(SEND_QUEUE_BYTES), "--quiet"];
      await using server = await ServerProcess.start(runtime, [...LOOPBACK_ARGS, ...args]);
      const pid = server.child.pid!;
      // node_modules/.bin/deno and bun are symlinks to the runtimes' own binaries, not wrapper
      // scripts, so the child is the server itself and /proc/<pid>/status is its memory.
      assert.equal(realpathSync(`/proc/${pid}/exe`), realpathSync(runtimeBinary(runtime)));

      const members: TestMember[] = [];
      await using _members = {
        async [Symbol.asyncDispose]() {
          await Promise.all(members.map((member) => member[Symbol.asyncDispose]()));
        },
      };
      for (const nick of [...SENDERS, "slow"]) {
        const member = await TestMember.join(server.port, nick);
        for (const earlier of members) await earlier.expect({ type: "join", nick });
        members.push(member);
      }
      const slow = members.at(-1)!;
      slow.socket.pause();

      let slowLeftAt = 0;
      const slowClosedAt = slow.closed.then(() => performance.now());
      const tallies = SENDERS.map((nick, i) =>
        new Tally(members[i], nick, (left) => {
          // At once: the server gives the final error only so long to be read.
          if (left === "slow" && slowLeftAt === 0) {
            slowLeftAt = performance.now();
            slow.socket.resume();
          }
        })
      );
      const before = memoryOf(pid);

      const sent = new Map(SENDERS.map((nick) => [nick, 0]));
      let rounds = 0;
      const round = () => {
        const r = rounds++;
        return Promise.all(SENDERS.map(async (nick, i) => {
          for (let k = 0; k < ROUND_MESSAGES; k++) {
            members[i].send({ type: "msg", text: numbered(nick, sent.get(nick)!) });
            sent.set(nick, sent.get(nick)! + 1);
          }
          members[i].send({ type: "ping" });
          await tallies[i].until(() => tallies[i].pongs > r, `${nick}'s pong in round ${r}`);
        }));
      };
      while (!tallies.every((tally) => tally.leaves.includes("slow"))) {
        assert.ok(rounds < MAX_ROUNDS, `slow was still in after ${rounds} rounds`);
        await round();
      }
      const roundsToClose = rounds;
      for (let r = 0; r < ROUNDS_AFTER; r++) await round();
      SENDERS.forEach((nick, i) => members[i].send({ type: "msg", text: `${nick} done` }));
      await Promise.all(tallies.map((tally) => tally.finished));
      const after = memoryOf(pid);

      for (const tally of tallies) {
        assert.deepEqual(tally.problems, [], `${tally.nick}'s problems`);
        assert.deepEqual(tally.leaves, ["slow"]);
        for (const nick of SENDERS.filter((sender) => sender !== tally.nick)) {
          assert.equal(
            tally.expected.get(nick),
            sent.get(nick),
            `${tally.nick}'s count from ${nick}`,
          );
        }
      }

      // The slow member reads what its kernel buffers held: each sender's first messages, in order
      // and none missing. Then, since it read on well within the server's flush time, the final
      // error, which the server queued behind the write that was stuck, and the end.
      const unread = await slow.untilClosed();
      const readWithinMs = (await slowClosedAt) - slowLeftAt;
      assert.deepEqual(
        { ...unread.at(-1), message: undefined },
        { type: "error", code: "send_queue_full", message: undefined },
        `the slow member's last message, ${readWithinMs.toFixed(0)} ms after it was dropped`,
      );
      const slowGot = new Map<string, number>();
      for (const message of unread.slice(0, -1)) {
        assert.equal(message.type, "msg", JSON.stringify(message));
        const from = message.from as string;
        assert.equal(sequenceOf(message), String(slowGot.get(from) ?? 0), `slow's from ${from}`);
        slowGot.set(from, (slowGot.get(from) ?? 0) + 1);
      }

      const growthKiB = after.peakKiB - before.rssKiB;
      const figures = `${runtime} server resident ${inMiB(before.rssKiB)} before, ` +
        `${inMiB(after.rssKiB)} after, ${inMiB(after.peakKiB)} at its peak ` +
        `(slow closed after ${roundsToClose} rounds; ${rounds} rounds in all)`;
      if (REPORT) console.log(figures);
      assert.ok(
        growthKiB < PEAK_GROWTH_BOUND_KIB,
        `grew past ${inMiB(PEAK_GROWTH_BOUND_KIB)}: ${figures}`,
      );
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("a member that reads late gets all of 16 MB queued for it, in order, whole"),
    async () => {
      // More than the loopback's kernel buffers hold (about 4 MB on the server's side, some more
      // on the member's), so the runtime takes the server's writes in part, and what it leaves
      // must follow in order, with nothing missed or doubled.
      const count = 16_000;
      const args = ["--rate", "0", "--send-queue", String(64 * 1024 * 1024), "--quiet"];
      await using server = await ServerProcess.start(runtime, [...LOOPBACK_ARGS, ...args]);
      await using late = await TestMember.join(server.port, "late");
      await using sender = await TestMember.join(server.port, "sender");
      await late.expect({ type: "join", nick: "sender" });
      late.socket.pause();
      for (let seq = 0; seq < count; seq++) {
        sender.send({ type: "msg", text: numbered("sender", seq) });
      }
      sender.send({ type: "ping" });
      await sender.expect({ type: "pong" }); // every message is handled, and queued for late
      late.socket.resume();
      for (let seq = 0; seq < count; seq++) {
        const message = await late.expect({ type: "msg", from: "sender" });
        assert.equal(message.text, numbered("sender", seq));
      }
      sender.send({ type: "msg", text: "after" });
      await late.expect({ type: "msg", text: "after" });
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("survives 3 s of garbage in every mode from 30 connections at once, and chats on"),
    async () => {
      const seed = FUZZ_SEED;
      let serverLog: string[] = [];
      try {
        // Not --quiet: the server logs only connects and disconnects unless something failed, such
        // as an internal error in one session, which it survives, or an exception out of its
        // accept loop, which Bun survives too, no longer accepting.
        const args = ["--max-per-address", "0"];
        await using server = await ServerProcess.start(runtime, [...LOOPBACK_ARGS, ...args]);
        serverLog = server.stderr.seen;
        const failures = () =>
          serverLog.filter((line) => !/^(dis)?connect /.test(line) || /internal error/.test(line));
        const tally: FuzzTally = {
          connections: { native: 0, line: 0, legacy: 0, random: 0 },
          receivedBytes: { native: 0, line: 0, legacy: 0, random: 0 },
          problems: [],
        };
        let stopFuzz = () => {};
        const stop = new Promise<void>((resolve) => stopFuzz = resolve);
        const timer = setTimeout(stopFuzz, FUZZ_MS);
        let opened = 0;
        // Each worker has its own generator, so a seed replays the same streams whatever the
        // interleaving.
        const workers = Array.from({ length: FUZZ_CONCURRENCY }, async (_, w) => {
          const mine = new Random(seed + w * 0x9e3779b9);
          let running = true;
          stop.then(() => running = false);
          while (running && opened < FUZZ_MAX_CONNECTIONS) {
            opened++;
            await fuzzConnection(server.port, mine, tally, stop);
          }
        });
        await within(Promise.all(workers), "the fuzz to end", FUZZ_MS + 5000);
        clearTimeout(timer);
        stopFuzz();

        assert.equal(server.child.exitCode, null, "the server exited during the fuzz");
        assert.equal(server.child.signalCode, null, "the server was killed during the fuzz");
        assert.deepEqual(failures(), [], "the server's log");
        assert.deepEqual(tally.problems, []);
        for (const kind of FUZZ_KINDS) {
          assert.ok(
            tally.connections[kind] > 10,
            `only ${tally.connections[kind]} ${kind} connections`,
          );
          assert.ok(tally.receivedBytes[kind] > 0, `no answer at all to ${kind} connections`);
        }

        await using alice = await TestMember.join(server.port, "after1", "afterfuzz");
        await using bob = await TestMember.join(server.port, "after2", "afterfuzz");
        await alice.expect({ type: "join", nick: "after2" });
        alice.send({ type: "msg", text: "still here?" });
        await bob.expect({ type: "msg", from: "after1", text: "still here?" });
        bob.send({ type: "msg", text: "still here" });
        await alice.expect({ type: "msg", from: "after2", text: "still here" });
        const { member: line } = await LineMember.join(server.port);
        await using _line = line;

        assert.deepEqual(failures(), [], "the server's log");
        if (REPORT) {
          console.log(`${runtime} fuzz seed ${seed}: ${JSON.stringify(tally)}`);
        }
        assert.equal(await server.stop(), 0);
      } catch (error) {
        // Deno and Bun print the stack, which holds the message as it was when it was thrown.
        if (error instanceof Error) {
          const unusual = serverLog.filter((line) => !/^(dis)?connect /.test(line)).slice(-30);
          const replay = `fuzz seed ${seed} (PARLEY_FUZZ_SEED=${seed} replays it): `;
          const log = `\nthe server's log, but for connects and disconnects:\n${
            unusual.join("\n")
          }`;
          error.message = `${replay}${error.message}${log}`;
          error.stack = `${replay}${error.stack}${log}`;
        }
        throw error;
      }
    },
  );
}
