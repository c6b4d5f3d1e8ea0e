// ChatClient driven with a fake Ui and fake connections: no process, no socket, no terminal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatClient, type ChatClientOptions } from "../../client/chat_client.ts";
import { type Line, plainText } from "../../client/format.ts";
import type { InputHandler, Ui } from "../../client/ui.ts";
import { encodeFrame, FrameDecoder } from "../../protocol/native.ts";
import type { Connection, WriteDone } from "../../runtime.ts";

/** Resolves once the microtasks and timers already queued have run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A connection whose server side is the test: `said` holds what the client sent. */
class FakeConnection implements Connection {
  readonly remoteHost = "127.0.0.1";
  readonly remotePort = 9009;
  readonly said: unknown[] = [];
  halfClosed = false;
  #decoder = new FrameDecoder(1 << 20);
  #incoming: Array<Uint8Array | null> = [];
  #reader: (() => void) | null = null;

  /** The server sends `message`. */
  send(message: object): void {
    this.#push(encodeFrame(message as never));
  }

  /** The server closes the connection. */
  end(): void {
    this.#push(null);
  }

  #push(chunk: Uint8Array | null): void {
    this.#incoming.push(chunk);
    this.#reader?.();
  }

  async read(): Promise<Uint8Array | null> {
    while (this.#incoming.length === 0) {
      await new Promise<void>((resolve) => this.#reader = resolve);
    }
    const chunk = this.#incoming.shift()!;
    if (chunk === null) this.#incoming.unshift(null); // ended for good
    return chunk;
  }

  write(bytes: Uint8Array, done: WriteDone): void {
    for (const frame of this.#decoder.push(bytes.slice())) {
      if (frame.ok) this.said.push(frame.value);
    }
    done();
  }

  closeWrite(): Promise<void> {
    this.halfClosed = true;
    return Promise.resolve();
  }

  close(): void {
    this.end();
  }
}

/** A pipe-like Ui: the test types lines and reads what is shown, as plain text. */
class FakeUi implements Ui {
  readonly interactive = false;
  readonly shown: string[] = [];
  prompt = "";
  closed = false;
  readonly progressed: Array<string | null> = [];
  readonly reported: string[] = [];
  #input: InputHandler | null = null;

  open(input: InputHandler): void {
    this.#input = input;
  }
  show(line: Line | string): void {
    this.shown.push(typeof line === "string" ? line : plainText(line));
  }
  bell(): void {}
  setPrompt(prompt: string): void {
    this.prompt = prompt;
  }
  secret = false;
  setSecret(secret: boolean): void {
    this.secret = secret;
  }
  setReading(): void {}
  progress(text: string | null): void {
    this.progressed.push(text);
  }
  report(text: string): void {
    this.reported.push(text);
  }
  stop(): void {}
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  type(line: string): void {
    this.#input!.line(line);
  }
  endInput(): void {
    this.#input!.end();
  }
}

const OPTIONS: ChatClientOptions = {
  host: "chat.example",
  port: 9009,
  nick: "alice",
  canAskForNick: false,
  reconnectMs: 0,
};

test("ChatClient joins, parses typed lines and leaves, through a fake Ui and connection", async () => {
  const ui = new FakeUi();
  const conn = new FakeConnection();
  const client = new ChatClient(OPTIONS, ui, () => Promise.reject(new Error("no second try")));
  const status = client.run(conn);
  await settle();
  assert.deepEqual(conn.said, [{ type: "hello", nick: "alice", echo: true }]);

  conn.send({ type: "welcome", nick: "alice", room: "lobby", members: ["alice", "bob"] });
  await settle();
  ui.type("hi all");
  ui.type("/join");
  ui.type("/MSG bob  psst");
  ui.type("/part");
  ui.type("/dance");
  await settle();
  assert.deepEqual(conn.said.slice(1), [
    { type: "msg", text: "hi all", room: "lobby" },
    { type: "msg", to: "bob", text: "psst" },
    { type: "part", room: "lobby" },
  ]);
  assert.deepEqual(ui.shown, [
    "* you are alice in lobby; here: alice (you), bob",
    "* usage: /join ROOM",
    "* unknown command /dance, try /help",
  ]);
  assert.deepEqual(client.complete("", "b"), ["bob: "]);

  ui.endInput();
  await settle();
  // It leaves once the server has answered everything it sent.
  assert.deepEqual(conn.said.at(-1), { type: "ping" });
  assert.ok(!conn.halfClosed, "it waits for the pong");
  conn.send({ type: "pong" });
  await settle();
  assert.ok(conn.halfClosed, "it half-closes to leave");
  conn.end();
  assert.equal(await status, 0);
  assert.ok(ui.closed);
  assert.deepEqual(ui.reported, []);
});

test("ChatClient reconnects with the connect function it was handed, and rejoins", async () => {
  const ui = new FakeUi();
  const first = new FakeConnection();
  const second = new FakeConnection();
  const asked: string[] = [];
  const connect = (host: string, port: number) => {
    asked.push(`${host}:${port}`);
    return Promise.resolve(second);
  };
  const client = new ChatClient({ ...OPTIONS, reconnectMs: 60_000 }, ui, connect);
  const status = client.run(first);
  first.send({ type: "welcome", nick: "alice", room: "lobby", members: ["alice"] });
  first.send({ type: "msg", id: 7, from: "bob", room: "lobby", text: "hello", ts: 0 });
  await settle();
  first.end();
  await settle();
  await settle();
  assert.deepEqual(asked, ["chat.example:9009"]);
  assert.deepEqual(second.said[0], {
    type: "hello",
    nick: "alice",
    room: "lobby",
    since: 7,
    echo: true,
  });
  second.send({ type: "welcome", nick: "alice", room: "lobby", members: ["alice"] });
  second.send({ type: "pong" });
  await settle();
  assert.deepEqual(ui.shown, [
    "* you are alice in lobby; nobody else is here yet",
    "<bob> hello",
    "* disconnected: the server closed the connection; reconnecting",
    "* reconnected",
  ]);
  ui.type("/quit");
  await settle();
  // A script's /quit ends its input: the pong confirms what came before it.
  assert.deepEqual(second.said.at(-1), { type: "ping" });
  second.send({ type: "pong" });
  await settle();
  assert.ok(second.halfClosed, "it half-closes to leave");
  second.end();
  assert.equal(await status, 0);
});

test("ChatClient gives again only a password the server took, and a refused rejoin ends a script", async () => {
  const ui = new FakeUi();
  const conns = [new FakeConnection(), new FakeConnection(), new FakeConnection()];
  let next = 1;
  const connect = () => Promise.resolve(conns[next++]);
  const client = new ChatClient({ ...OPTIONS, reconnectMs: 60_000 }, ui, connect);
  const status = client.run(conns[0]);
  const [first, second, third] = conns;
  first.send({ type: "welcome", nick: "alice", room: "lobby", members: ["alice"] });
  await settle();
  ui.type("/identify wrong-pw");
  ui.type("/identify right-pw");
  await settle();
  assert.deepEqual(first.said.slice(1), [
    { type: "identify", password: "wrong-pw" },
    { type: "ping" },
    { type: "identify", password: "right-pw" },
    { type: "ping" },
  ]);
  first.send({ type: "error", code: "wrong_password", message: "Wrong password for alice" });
  first.send({ type: "pong" });
  first.send({ type: "notice", text: "you are identified as alice" });
  first.send({ type: "pong" });
  await settle();
  first.end();
  await settle();
  await settle();
  assert.deepEqual(second.said[0], {
    type: "hello",
    nick: "alice",
    room: "lobby",
    since: 0,
    echo: true,
    password: "right-pw",
  });
  // The password was changed elsewhere meanwhile: nobody is there to give the new one.
  second.send({ type: "error", code: "wrong_password", message: "Wrong password for alice" });
  await settle();
  second.end();
  assert.equal(await status, 1);
  assert.equal(third.said.length, 0, "no further attempt");
  assert.deepEqual(ui.reported, [
    "the server refused to let alice join: Wrong password for alice; no line was sent",
  ]);
});
