import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeLine, LineDecoder } from "../../protocol/line.ts";
import { nickProblem, ProtocolError } from "../../protocol.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function pushAll(decoder: LineDecoder, chunks: Uint8Array[]): Array<string | ProtocolError> {
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

test("LineDecoder splits lines at every split point, with \\n and \\r\\n, keeping UTF-8", () => {
  const input = bytes("héllo wörld 🎉\r\nsecond\n\nthird\n");
  for (let split = 0; split <= input.length; split++) {
    const lines = pushAll(new LineDecoder(), [input.subarray(0, split), input.subarray(split)]);
    assert.deepEqual(lines, ["héllo wörld 🎉", "second", "third"], `split at ${split}`);
  }
});

test("LineDecoder counts blank lines in skipped rather than returning them", () => {
  const decoder = new LineDecoder();
  assert.deepEqual(decoder.push(bytes("\n\r\n \nhi\n\n")), [" ", "hi"]);
  assert.equal(decoder.skipped, 3);
  assert.deepEqual(decoder.push(bytes("\r")), []);
  assert.equal(decoder.skipped, 0, "a count for each push");
  assert.deepEqual(decoder.push(bytes("\n")), []);
  assert.equal(decoder.skipped, 1, "a \\r\\n split across pushes");
});

test("LineDecoder drops telnet commands wherever they fall", () => {
  // IAC DO ECHO, IAC WILL SGA, a subnegotiation with an escaped IAC inside, IAC NOP, IAC IAC.
  const input = new Uint8Array([
    ...[255, 253, 1],
    ...bytes("he"),
    ...[255, 251, 3],
    ...bytes("llo"),
    ...[255, 250, 24, 0, 255, 255, 65, 255, 240],
    ...[255, 241],
    ...bytes("!"),
    ...[255, 255],
    10,
  ]);
  for (let split = 0; split <= input.length; split++) {
    const decoder = new LineDecoder();
    const lines = pushAll(decoder, [input.subarray(0, split), input.subarray(split)]);
    assert.deepEqual(lines, ["hello!"], `split at ${split}`);
  }
});

test("LineDecoder applies Backspace and DEL rather than dropping them", () => {
  const input = bytes("helo\blo\nwörlx\x7fd\n\u{1f389}\x7fok\nab\b\b\b\bc\nx\b\n");
  for (let split = 0; split <= input.length; split++) {
    const decoder = new LineDecoder();
    const lines = pushAll(decoder, [input.subarray(0, split), input.subarray(split)]);
    // An erased emoji goes whole (all four of its bytes); a line erased to nothing is blank.
    assert.deepEqual(lines, ["hello", "wörld", "ok", "c"], `split at ${split}`);
  }
  const decoder = new LineDecoder();
  decoder.push(input);
  assert.equal(decoder.skipped, 1, "x then Backspace is a blank line");
});

test("LineDecoder applies telnet's erase character and erase line", () => {
  const input = new Uint8Array([...bytes("helx"), 255, 247, ...bytes("lo"), 10]);
  assert.deepEqual(new LineDecoder().push(input), ["hello"]);
  const erased = new Uint8Array([...bytes("oops"), 255, 248, ...bytes("fine"), 10]);
  assert.deepEqual(new LineDecoder().push(erased), ["fine"]);
});

test("LineDecoder takes bytes that only look like telnet commands for text", () => {
  const decode = (...input: number[]) => {
    const decoder = new LineDecoder();
    return input.flatMap((byte) => decoder.push(new Uint8Array([byte])));
  };
  const text = (s: string) => [...bytes(s)];
  // 0xFF 0xFE begins a UTF-16 file, or Latin-1 "ÿþ": IAC DONT about no option anyone defined.
  assert.deepEqual(decode(255, 254, ...text("hello\n")), ["\ufffd\ufffdhello"]);
  // IAC and a byte that is no command; IAC SB about no defined option.
  assert.deepEqual(decode(255, 65, ...text("b\n")), ["\ufffdAb"]);
  assert.deepEqual(decode(255, 250, 100, ...text("x\n")), ["\ufffd\ufffddx"]);
  // A line ending among them still ends the line.
  assert.deepEqual(decode(...text("a"), 255, 10, ...text("b\n")), ["a\ufffd", "b"]);
  // Real negotiation is still dropped: IAC DONT ECHO, IAC WILL NAWS, IAC SB NAWS ... IAC SE.
  assert.deepEqual(
    decode(255, 254, 1, 255, 251, 31, 255, 250, 31, 0, 80, 0, 24, 255, 240, ...text("hi\n")),
    ["hi"],
  );
});

test("LineDecoder rejects a line above the maximum once and discards it up to its newline", () => {
  const decoder = new LineDecoder(8);
  const out = pushAll(decoder, [bytes("12345678"), bytes("9abc"), bytes("def\nok\n")]);
  assert.equal(out.length, 2);
  assert.ok(out[0] instanceof ProtocolError);
  assert.equal(out[0].code, "line_too_long");
  assert.equal(out[1], "ok");
  assert.ok(decoder.bufferedBytes <= 8);
  assert.deepEqual(decoder.push(bytes("12345678\n")), ["12345678"]);
});

test("encodeLine writes a server message as the line a person reads, or nothing", () => {
  const said = { type: "msg", id: 1, from: "alice", room: "lobby", text: "héllo", ts: 0 } as const;
  assert.deepEqual(encodeLine(said), bytes("<alice> héllo\n"));
  assert.deepEqual(
    encodeLine({ type: "join", nick: "bob", room: "lobby" }),
    bytes("*** bob joined\n"),
  );
  assert.equal(encodeLine({ type: "pong" }), null);
});

const text = (bytes: Uint8Array | null) => new TextDecoder().decode(bytes!);

test("encodeLine marks notices with *** and drops text's bidi controls and line separators", () => {
  assert.equal(text(encodeLine({ type: "leave", nick: "bob", room: "lobby" })), "*** bob left\n");
  assert.equal(
    text(encodeLine({ type: "error", code: "server_shutdown", message: "The server is down" })),
    "*** The server is down\n",
  );
  const said = { type: "msg", id: 1, from: "alice", room: "lobby", ts: 0 } as const;
  assert.equal(text(encodeLine({ ...said, text: "left", action: true })), "* alice left\n");
  assert.equal(
    text(encodeLine({ ...said, text: "a\u202eb\u2066c\u2069\u202a\u202cd\u2028e\u2029f" })),
    "<alice> abcd e f\n",
  );
});

test("encodeLine: no chat line or action of any member takes a notice's shape", () => {
  // Every nick of one to three characters from a pool with the framing characters in it, and the
  // lines they could say or do.
  const pool = ["*", "<", ">", " ", "a", "T", "-", "!", "[", "]", "\u2028", "\u202e", "\u0301"];
  const nicks: string[] = [];
  for (const a of pool) {
    for (const b of ["", ...pool]) {
      for (const c of ["", ...pool]) if (nickProblem(a + b + c) === null) nicks.push(a + b + c);
    }
  }
  assert.ok(nicks.length > 200, `${nicks.length} nicks`);
  const texts = ["left", "* x", "*** x", "\u2028*** x", "server is shutting down"];
  const notices = new Set<string>();
  for (const nick of nicks) {
    for (
      const message of [
        { type: "join", nick, room: "lobby" },
        { type: "leave", nick, room: "den" },
        { type: "nick", from: nick, nick: "x", room: "lobby" },
        { type: "notice", text: `${nick} left` },
      ] as const
    ) {
      const line = text(encodeLine(message));
      assert.ok(line.startsWith("*** "), line);
      notices.add(line);
    }
  }
  for (const from of nicks) {
    for (const said of texts) {
      for (const where of [{ room: "lobby" }, { room: "den" }, { to: "x" }]) {
        for (const action of [undefined, true] as const) {
          const line = text(
            encodeLine({ type: "msg", id: 1, from, text: said, ts: 0, action, ...where }),
          );
          assert.ok(!line.startsWith("***"), line);
          assert.ok(!notices.has(line), line);
          assert.equal(line.indexOf("\n"), line.length - 1, line);
          assert.ok(!/[\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(line), line);
        }
      }
    }
  }
});
