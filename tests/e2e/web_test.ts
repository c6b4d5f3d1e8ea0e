// The web port end to end, on both runtimes: WebSocket members among TCP and nc members, history
// and gap fill over WebSocket, bad messages, Origin checks, a WebSocket member too slow to read,
// /metrics and /healthz, and the page's headers. Real sockets, real server subprocesses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { frame } from "../_frames.ts";
import {
  type Json,
  LineMember,
  LOOPBACK_ARGS,
  remainingLines,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  Subprocess,
  TestMember,
  within,
} from "./_helpers.ts";
import { CLOSE, RawWebSocket, TEXT, WebMember, webPortOf } from "./_websocket.ts";

/** A quiet server on the loopback with a web port, and that port. */
async function startWeb(
  runtime: typeof RUNTIMES[number],
  args: string[] = [],
): Promise<{ server: ServerProcess; web: number }> {
  const server = await ServerProcess.start(runtime, [
    ...LOOPBACK_ARGS,
    "--quiet",
    "--http-port",
    "0",
    ...args,
  ]);
  const line = await server.stdout.waitFor(/^web client at /, "the web line");
  return { server, web: webPortOf(line) };
}

/** The next message `next` yields that is not a chat message (history, say). */
async function notChat(next: () => Promise<Json | null>): Promise<Json | null> {
  for (let message = await next();; message = await next()) {
    if (message?.type !== "msg") return message;
  }
}

/** The chat messages `next` yields until `count` have come. */
async function chats(next: () => Promise<Json | null>, count: number): Promise<Json[]> {
  const found: Json[] = [];
  while (found.length < count) {
    const message = await next();
    if (message === null) throw new Error(`closed after ${found.length} of ${count} messages`);
    if (message.type === "msg") found.push(message);
  }
  return found;
}

const SLOW_QUEUE_BYTES = 1024 * 1024;
const floodText = (seq: number) => `flood ${seq} `.padEnd(500, ".");
// More than the send queue and every buffer between the server and a peer that does not read.
const FLOOD_MESSAGES = 64 * 1024;
const FLOOD_STEP = 1024; // half a MiB
const PAST_THE_FLUSH_MS = 2_500;

/** Sends `count` numbered messages from `first` as fast as the socket takes them. */
async function flood(publisher: net.Socket, first: number, count: number): Promise<void> {
  for (let seq = first; seq < first + count;) {
    const batch = Buffer.concat(
      Array.from({ length: 64 }, () => frame({ type: "msg", text: floodText(seq++) })),
    );
    if (!publisher.write(batch)) await within(once(publisher, "drain"), "the publisher's drain");
  }
}

// A line of the text format: a comment, or a sample `name{labels} value`.
const EXPOSITION_LINE =
  /^(# (HELP|TYPE) .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf))$/;

/** /metrics, checked line by line, as a map from `name{labels}` to value. */
async function scrape(web: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${web}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).trimEnd().split("\n")) {
    assert.match(line, EXPOSITION_LINE);
    if (line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/**
 * Waits for /metrics to show `value` for `sample`. A close is counted once the session has
 * finished closing, a moment after others hear the member leave: no event of the test's marks it,
 * so /metrics is asked again until it does, within the usual bound.
 */
async function counted(web: number, sample: string, value: number): Promise<void> {
  const seen = async () => {
    while ((await scrape(web)).get(sample) !== value) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await within(seen(), `${sample} to be ${value}`);
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `web [${runtime}] ${behaviour}`;

  test(name("a WebSocket, a native and an nc member share a room, in one order"), async () => {
    const { server, web } = await startWeb(runtime);
    await using _server = server;
    await using browser = await WebMember.join(web, "webby", { echo: true });
    await using native = await TestMember.connect(server.port);
    native.send({ type: "hello", nick: "tcpy", echo: true });
    await native.expect({ type: "welcome" });
    await browser.expect({ type: "join", nick: "tcpy" });
    const { member: nc, nick } = await LineMember.join(server.port);
    await using _nc = nc;
    await browser.expect({ type: "join", nick });
    await native.expect({ type: "join", nick });
    // All at once, so that the server decides the order: everyone must see the same one.
    for (let i = 0; i < 20; i++) {
      browser.send({ type: "msg", text: `from the browser ${i}` });
      native.send({ type: "msg", text: `over TCP ${i}` });
      nc.say(`from nc ${i}`);
    }
    const seenByBrowser = await chats(() => browser.next(), 60);
    const seenByNative = await chats(() => native.next(), 60);
    assert.deepEqual(seenByNative, seenByBrowser);
    for (const who of ["webby", "tcpy", nick]) {
      const texts = seenByBrowser.filter((m) => m.from === who).map((m) => m.text as string);
      assert.equal(texts.length, 20, `${who}'s messages, in the order sent`);
      assert.deepEqual(
        texts,
        [...texts].sort((a, b) => Number(a.split(" ").pop()) - Number(b.split(" ").pop())),
      );
    }
    const others = seenByBrowser.filter((m) => m.from !== nick).map((m) => `<${m.from}> ${m.text}`);
    const lines: string[] = [];
    while (lines.length < others.length) lines.push((await nc.lines.next("a chat line"))!);
    assert.deepEqual(lines, others);
    assert.equal(await server.stop(), 0);
  });

  test(
    name("a WebSocket member gets history on joining, and what it missed after `since`"),
    async () => {
      const { server, web } = await startWeb(runtime);
      await using _server = server;
      await using native = await TestMember.join(server.port, "tcpy");
      for (const text of ["one", "two", "three"]) native.send({ type: "msg", text });
      const first = await WebMember.join(web, "webby");
      const history = await chats(() => first.next(), 3);
      assert.deepEqual(history.map((m) => [m.text, m.history]), [
        ["one", true],
        ["two", true],
        ["three", true],
      ]);
      await first[Symbol.asyncDispose]();
      await native.expect({ type: "join", nick: "webby" });
      await native.expect({ type: "leave", nick: "webby" });
      for (const text of ["four", "five"]) native.send({ type: "msg", text });
      await using again = await WebMember.join(web, "webby", { since: history[2].id });
      const missed = await chats(() => again.next(), 2);
      assert.deepEqual(missed.map((m) => m.text), ["four", "five"]);
      again.send({ type: "history", room: "lobby", after: history[0].id, limit: 2 });
      const asked = await chats(() => again.next(), 2);
      assert.deepEqual(asked.map((m) => m.text), ["two", "three"]);
      await again.expect({ type: "history_end", room: "lobby", more: true });
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("answers bad WebSocket messages with an error, and closes where it cannot go on"),
    async () => {
      const { server, web } = await startWeb(runtime, ["--max-frame", "1024"]);
      await using _server = server;
      await using browser = await WebMember.join(web, "webby");
      browser.socket.send("not json");
      await browser.expect({ type: "error", code: "invalid_json" });
      browser.send({ type: "msg", text: "still here" });
      browser.send({ type: "who" });
      await browser.expect({ type: "who" });

      await using binary = await RawWebSocket.open(web);
      binary.sendJson({ type: "hello", nick: "raw" });
      assert.equal((await binary.nextJson())?.type, "welcome");
      binary.sendBinary(new Uint8Array([0, 0, 0, 2, 123, 125]));
      assert.equal((await notChat(() => binary.nextJson()))?.code, "binary_message");
      const close = await binary.frames.next("the close frame");
      assert.equal(close?.opcode, CLOSE);
      assert.equal(close!.payload.readUInt16BE(0), 1003);
      // Counted by its error, as a close for a bad frame on TCP is, not as the peer's own close.
      await counted(web, 'parley_connections_closed_total{reason="binary_message"}', 1);

      await using big = await RawWebSocket.open(web);
      big.sendJson({ type: "hello", nick: "big" });
      assert.equal((await big.nextJson())?.type, "welcome");
      big.sendJson({ type: "msg", text: "x".repeat(2000) });
      const error = await notChat(() => big.nextJson("the error"));
      assert.equal(error?.code, "frame_too_large");
      assert.equal(await big.nextJson("the end"), null);
      assert.equal(await server.stop(), 0);
    },
  );

  test(name("a WebSocket member speaks native JSON, whatever --mode pins TCP to"), async () => {
    const { server, web } = await startWeb(runtime, ["--mode", "line"]);
    await using _server = server;
    await using browser = await WebMember.join(web, "webby");
    const { member: nc } = await LineMember.join(server.port);
    await using _nc = nc;
    await browser.expect({ type: "join" });
    browser.send({ type: "msg", text: "hello nc" });
    await nc.lines.waitFor("<webby> hello nc");
    assert.equal(await server.stop(), 0);
  });

  test(name("refuses WebSocket upgrades from other sites' pages, unless allowed"), async () => {
    const { server, web } = await startWeb(runtime, ["--allow-origin", "https://chat.example"]);
    await using _server = server;
    const cases: Array<[Record<string, string>, number]> = [
      [{ Origin: "http://evil.example" }, 403],
      [{ Origin: `http://localhost:${web}` }, 403],
      [{ Origin: `http://127.0.0.1:${web}` }, 101],
      [{ Origin: "https://chat.example" }, 101],
      [{}, 101], // not a browser
    ];
    for (const [i, [headers, status]] of cases.entries()) {
      await using socket = await RawWebSocket.open(web, headers);
      assert.equal(socket.status, status, `${JSON.stringify(headers)}: ${socket.response}`);
      if (status === 101) {
        socket.sendJson({ type: "hello", nick: `allowed${i}` });
        const reply = await socket.nextJson();
        assert.equal(reply?.type, "welcome");
      } else {
        assert.match(socket.response, /content-type: text\/plain/i);
      }
    }
    const refused = await fetch(`http://127.0.0.1:${web}/ws`, {
      headers: { Origin: "http://evil.example", Upgrade: "websocket", Connection: "Upgrade" },
    });
    assert.match(await refused.text(), /may not open a WebSocket here \(see --allow-origin\)/);
    assert.equal(await server.stop(), 0);
  });

  test(
    name("closes a WebSocket member that stops reading with send_queue_full; others lose nothing"),
    async () => {
      const { server, web } = await startWeb(runtime, [
        "--rate",
        "0",
        "--send-queue",
        String(SLOW_QUEUE_BYTES),
      ]);
      await using _server = server;
      await using watcher = await TestMember.join(server.port, "watcher");
      await using reader = await WebMember.join(web, "reader", { room: "flood" });
      await using publisher = await TestMember.join(server.port, "publisher", "flood");
      await reader.expect({ type: "join", nick: "publisher" });
      await using slow = await RawWebSocket.open(web);
      slow.sendJson({ type: "hello", nick: "slow" });
      await watcher.expect({ type: "join", nick: "slow" });
      slow.sendJson({ type: "join", room: "flood" });
      await publisher.expect({ type: "join", nick: "slow" });
      await reader.expect({ type: "join", nick: "slow" });
      slow.socket.pause();
      // The reader must receive every message, in order. It is a peer that reads as fast as it
      // can, yet one process sharing the machine with the flood: the flood goes in steps, each
      // once the reader has had the last, so that it never falls a send queue behind.
      for (let seq = 0; seq < FLOOD_MESSAGES;) {
        const step = seq;
        await flood(publisher.socket, step, FLOOD_STEP);
        for (seq = step; seq < step + FLOOD_STEP;) {
          const message = await reader.next("the flood");
          if (message === null) throw new Error(`the reader was closed after ${seq} messages`);
          if (message.type === "msg") assert.equal(message.text, floodText(seq++));
        }
      }
      await watcher.expect({ type: "leave", nick: "slow" });
      await new Promise((resolve) => setTimeout(resolve, PAST_THE_FLUSH_MS));
      slow.socket.resume();
      const texts: Json[] = [];
      let closed = false;
      for (let frame = await slow.frames.next("the slow member's backlog"); frame;) {
        if (frame.opcode === CLOSE) {
          closed = true;
          break;
        }
        assert.equal(frame.opcode, TEXT);
        texts.push(JSON.parse(frame.payload.toString("utf8")));
        frame = await slow.frames.next("the slow member's backlog");
      }
      const last = texts.pop()!;
      assert.equal(last.code, "send_queue_full", JSON.stringify(last).slice(0, 200));
      assert.ok(closed || (await slow.frames.next("the end")) === null);
      const chat = texts.slice(texts.findIndex((m) => m.type === "joined") + 1);
      chat.forEach((message, seq) => assert.equal(message.text, floodText(seq)));
      assert.ok(chat.length < FLOOD_MESSAGES);
      await counted(web, 'parley_connections_closed_total{reason="send_queue_full"}', 1);
      assert.equal(await server.stop(), 0);
    },
  );

  test(name("/metrics counts what happened, in the text format; /healthz says ok"), async () => {
    const { server, web } = await startWeb(runtime);
    await using _server = server;
    const health = await fetch(`http://127.0.0.1:${web}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok");
    await using browser = await WebMember.join(web, "webby");
    await using native = await TestMember.join(server.port, "tcpy", "den");
    const { member: nc } = await LineMember.join(server.port);
    await using _nc = nc;
    native.send({ type: "msg", text: "hello den" });
    browser.send({ type: "msg", text: "hello lobby" });
    await nc.lines.waitFor("<webby> hello lobby");
    const samples = await scrape(web);
    const at = (key: string) => samples.get(key);
    assert.equal(at('parley_connections{transport="ws",mode="native"}'), 1);
    assert.equal(at('parley_connections{transport="tcp",mode="native"}'), 1);
    assert.equal(at('parley_connections{transport="tcp",mode="line"}'), 1);
    assert.equal(at('parley_connections_accepted_total{transport="ws",mode="native"}'), 1);
    assert.equal(at("parley_rooms"), 2);
    assert.equal(at("parley_members"), 3);
    // Two hellos (the nc member is welcomed without one) and two messages.
    assert.equal(at("parley_messages_received_total"), 4);
    assert.ok(at("parley_deliveries_total")! >= 5);
    assert.ok(at("parley_sent_bytes_total")! > 0);
    assert.equal(at('parley_history_store_read_seconds_bucket{le="+Inf"}'), 0);
    assert.ok(at("parley_event_loop_lag_seconds")! >= 0);
    await browser[Symbol.asyncDispose]();
    await nc.lines.waitFor("*** webby left");
    await counted(web, 'parley_connections_closed_total{reason="peer_closed"}', 1);
    assert.equal(await server.stop(), 0);
  });

  test(name("says in one line that the web port is taken, or not a port, and exits"), async () => {
    const taken = net.createServer().listen(0, "127.0.0.1");
    await within(once(taken, "listening"), "a listener on a free port");
    try {
      const { port } = taken.address() as net.AddressInfo;
      const args = [...LOOPBACK_ARGS, "--port", "0", "--http-port", String(port)];
      await using busy = new Subprocess(scriptCommand(runtime, "server.ts", args));
      assert.equal(await busy.exitCode(), 1);
      assert.deepEqual(await remainingLines(busy.stderr), [
        `server: cannot listen on 127.0.0.1:${port}: address already in use`,
      ]);
      await using bad = new Subprocess(scriptCommand(runtime, "server.ts", ["--http-port", "web"]));
      assert.equal(await bad.exitCode(), 2);
      assert.deepEqual(await remainingLines(bad.stderr), [
        'server: --http-port must be a whole number from 0 to 65535 or off, not "web" (try --help)',
      ]);
    } finally {
      taken.close();
    }
  });

  test(name("serves the page with its security headers, and nothing else"), async () => {
    const { server, web } = await startWeb(runtime);
    await using _server = server;
    const page = await fetch(`http://127.0.0.1:${web}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    const policy = page.headers.get("content-security-policy")!;
    assert.match(policy, /default-src 'self'/);
    assert.match(policy, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${web} wss://`));
    assert.match(await page.text(), /<html/);
    const missing = await fetch(`http://127.0.0.1:${web}/nothing-here`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const post = await fetch(`http://127.0.0.1:${web}/`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    const plain = await fetch(`http://127.0.0.1:${web}/ws`);
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
    assert.equal(await server.stop(), 0);
  });
}
