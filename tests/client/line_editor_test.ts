import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chatCompleter,
  type ChatWords,
  DIM,
  displayWidth,
  type Key,
  KeyDecoder,
  LineEditor,
  mentions,
  nickColour,
  type Outcome,
  paint,
  plainText,
  printable,
} from "../../client/line_editor.ts";

const utf8 = new TextEncoder();

function decode(...chunks: (string | Uint8Array)[]): Key[] {
  const decoder = new KeyDecoder();
  return chunks.flatMap((chunk) =>
    decoder.push(typeof chunk === "string" ? utf8.encode(chunk) : chunk)
  );
}

/** Types `input` (raw terminal bytes) into `editor`, returning what each key did. */
function type(editor: LineEditor, input: string): Outcome[] {
  return decode(input).map((key) => editor.apply(key));
}

/** The line with a "|" where the cursor is. */
function state(editor: LineEditor): string {
  return `${editor.text.slice(0, editor.cursor)}|${editor.text.slice(editor.cursor)}`;
}

const LEFT = "\x1b[D";
const RIGHT = "\x1b[C";
const UP = "\x1b[A";
const DOWN = "\x1b[B";

test("KeyDecoder yields printable text, multi-byte UTF-8 included, as one key", () => {
  assert.deepEqual(decode("héllo wörld 日本 😀"), [{ type: "text", text: "héllo wörld 日本 😀" }]);
});

test("KeyDecoder joins a UTF-8 character split at every byte", () => {
  const bytes = utf8.encode("é日😀");
  const keys = decode(...Array.from(bytes, (byte) => Uint8Array.of(byte)));
  assert.equal(keys.map((key) => key.type === "text" ? key.text : "?").join(""), "é日😀");
});

test("KeyDecoder decodes escape sequences split at every point", () => {
  const sequences: [string, Key["type"]][] = [
    ["\x1b[A", "history-back"],
    ["\x1b[B", "history-forward"],
    ["\x1b[C", "right"],
    ["\x1b[D", "left"],
    ["\x1b[H", "home"],
    ["\x1b[F", "end"],
    ["\x1bOH", "home"],
    ["\x1bOF", "end"],
    ["\x1bOD", "left"],
    ["\x1b[1~", "home"],
    ["\x1b[7~", "home"],
    ["\x1b[4~", "end"],
    ["\x1b[8~", "end"],
    ["\x1b[3~", "delete"],
    ["\x1b[1;5C", "word-right"],
    ["\x1b[1;3D", "word-left"],
    ["\x1bb", "word-left"],
    ["\x1bf", "word-right"],
    ["\x1b\x7f", "kill-word"],
  ];
  for (const [sequence, expected] of sequences) {
    for (let split = 0; split <= sequence.length; split++) {
      const keys = decode(`a${sequence.slice(0, split)}`, `${sequence.slice(split)}b`);
      assert.deepEqual(
        keys,
        [{ type: "text", text: "a" }, { type: expected }, { type: "text", text: "b" }],
        `${JSON.stringify(sequence)} split at ${split}`,
      );
    }
  }
});

test("KeyDecoder decodes the control keys", () => {
  const controls: [string, Key["type"]][] = [
    ["\r", "enter"],
    ["\n", "enter"],
    ["\x7f", "backspace"],
    ["\x08", "backspace"],
    ["\x01", "home"],
    ["\x05", "end"],
    ["\x02", "left"],
    ["\x06", "right"],
    ["\x15", "kill-to-start"],
    ["\x0b", "kill-to-end"],
    ["\x17", "kill-word"],
    ["\x10", "history-back"],
    ["\x0e", "history-forward"],
    ["\x0c", "clear-screen"],
    ["\x03", "interrupt"],
    ["\x04", "eof"],
  ];
  for (const [byte, expected] of controls) {
    assert.deepEqual(decode(byte), [{ type: expected }], JSON.stringify(byte));
  }
});

test("KeyDecoder counts CR LF as one Enter, even split across chunks", () => {
  assert.deepEqual(decode("a\r\nb"), [
    { type: "text", text: "a" },
    { type: "enter" },
    { type: "text", text: "b" },
  ]);
  assert.deepEqual(decode("a\r", "\nb"), decode("a\r\nb"));
  assert.deepEqual(decode("\r\r"), [{ type: "enter" }, { type: "enter" }]);
  assert.deepEqual(decode("\n\n"), [{ type: "enter" }, { type: "enter" }]);
});

test("KeyDecoder splits a pasted block into text and Enters", () => {
  assert.deepEqual(decode("one\rtwo\rthr"), [
    { type: "text", text: "one" },
    { type: "enter" },
    { type: "text", text: "two" },
    { type: "enter" },
    { type: "text", text: "thr" },
  ]);
});

test("KeyDecoder never yields a control character as text", () => {
  // NUL, BEL, a C1 CSI, unbound CSI and SS3 sequences, bracketed-paste marks and a pasted tab.
  const keys = decode("a\x00b\x07c\u009bd\x1b[99Ze\x1bOzf\x1b[200~g\th\x1b[201~i");
  assert.deepEqual(keys, [{ type: "text", text: "abcdefg hi" }]);
});

test("KeyDecoder drops a lone Escape, and waits for the key after it", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.push(utf8.encode("\x1b")), []);
  assert.deepEqual(decoder.push(utf8.encode("x")), [{ type: "text", text: "x" }]);
  assert.deepEqual(decode("\x1b\x1b[D"), [{ type: "left" }]);
});

test("KeyDecoder gives up on an escape sequence that never ends", () => {
  const keys = decode(`\x1b[${"1".repeat(100)}`, "x");
  assert.deepEqual(keys, [{ type: "text", text: "x" }]);
});

test("LineEditor inserts at the cursor and moves by grapheme", () => {
  const editor = new LineEditor("> ");
  type(editor, "hllo");
  assert.equal(state(editor), "hllo|");
  type(editor, `${LEFT}${LEFT}${LEFT}e`);
  assert.equal(state(editor), "he|llo");
  // A family emoji is five code points, a combining accent two: each is one step.
  editor.apply({ type: "end" });
  type(editor, " 👨‍👩‍👧 e\u0301!");
  type(editor, `${LEFT}${LEFT}`);
  assert.equal(state(editor), "hello 👨‍👩‍👧 |e\u0301!");
  type(editor, `${LEFT}${LEFT}`);
  assert.equal(state(editor), "hello |👨‍👩‍👧 e\u0301!");
  type(editor, RIGHT);
  assert.equal(state(editor), "hello 👨‍👩‍👧| e\u0301!");
});

test("LineEditor Backspace and Delete remove a whole grapheme, and stop at the ends", () => {
  const editor = new LineEditor();
  type(editor, "ae\u0301😀b");
  type(editor, `${LEFT}\x7f`);
  assert.equal(state(editor), "ae\u0301|b");
  type(editor, "\x7f");
  assert.equal(state(editor), "a|b");
  type(editor, "\x1b[3~");
  assert.equal(state(editor), "a|");
  assert.deepEqual(type(editor, "\x1b[3~"), [{ type: "unchanged" }]);
  type(editor, "\x7f");
  assert.deepEqual(type(editor, "\x7f"), [{ type: "unchanged" }]);
  assert.equal(state(editor), "|");
});

test("LineEditor Home, End, Ctrl-U, Ctrl-K and Ctrl-W edit as in a shell", () => {
  const editor = new LineEditor();
  type(editor, "say hello  world");
  type(editor, "\x17");
  assert.equal(state(editor), "say hello  |");
  type(editor, "\x17");
  assert.equal(state(editor), "say |");
  type(editor, "there\x01");
  assert.equal(state(editor), "|say there");
  type(editor, "\x05");
  assert.equal(state(editor), "say there|");
  type(editor, "\x1b[1~");
  type(editor, "\x1bf");
  assert.equal(state(editor), "say| there");
  type(editor, "\x0b");
  assert.equal(state(editor), "say|");
  type(editor, "\x1b[H\x1b[F\x1bb");
  assert.equal(state(editor), "|say");
  type(editor, "\x05\x15");
  assert.equal(state(editor), "|");
});

test("LineEditor submits the line on Enter and starts an empty one", () => {
  const editor = new LineEditor("> ");
  assert.deepEqual(type(editor, "hi there\r"), [
    { type: "changed" },
    { type: "submit", line: "hi there" },
  ]);
  assert.equal(state(editor), "|");
  assert.deepEqual(type(editor, "\r"), [{ type: "submit", line: "" }]);
});

test("LineEditor recalls sent lines with Up and Down, and keeps the draft", () => {
  const editor = new LineEditor();
  type(editor, "first\rsecond\rsecond\rdraft");
  type(editor, UP);
  assert.equal(state(editor), "second|");
  type(editor, UP);
  assert.equal(state(editor), "first|");
  assert.deepEqual(type(editor, UP), [{ type: "unchanged" }]);
  type(editor, `${DOWN}${DOWN}`);
  assert.equal(state(editor), "draft|");
  assert.deepEqual(type(editor, DOWN), [{ type: "unchanged" }]);
});

test("LineEditor leaves on Ctrl-C, and on Ctrl-D only when the line is empty", () => {
  const editor = new LineEditor();
  assert.deepEqual(type(editor, "\x04"), [{ type: "eof" }]);
  type(editor, "ab\x01");
  assert.deepEqual(type(editor, "\x04"), [{ type: "changed" }]);
  assert.equal(state(editor), "|b");
  assert.deepEqual(type(editor, "\x03"), [{ type: "interrupt" }]);
});

test("LineEditor renders prompt and text, then moves the cursor back into place", () => {
  const editor = new LineEditor("alice> ");
  assert.equal(editor.render(80), "\r\x1b[2Kalice> ");
  type(editor, `hello wrld${LEFT}${LEFT}${LEFT}`);
  assert.equal(editor.render(80), "\r\x1b[2Kalice> hello wrld\x1b[3D");
  type(editor, "\x05");
  assert.equal(editor.render(80), "\r\x1b[2Kalice> hello wrld");
});

test("LineEditor prints an incoming message above the half-typed line, then redraws it", () => {
  const editor = new LineEditor("alice> ");
  type(editor, `hello wrld${LEFT}${LEFT}${LEFT}`);
  assert.equal(
    editor.printAbove(["<bob> hi there", "* carol joined"], 80),
    "\r\x1b[2K<bob> hi there\r\n* carol joined\r\n\r\x1b[2Kalice> hello wrld\x1b[3D",
  );
  // Typing goes on where it was.
  type(editor, "o\r");
  assert.equal(editor.text, "");
});

test("LineEditor scrolls a line wider than the terminal, keeping the cursor in view", () => {
  const editor = new LineEditor("> ");
  const text = "abcdefghijklmnopqrstuvwxyz";
  type(editor, text);
  // Twelve columns: the prompt takes two and the last stays empty, so nine characters show.
  assert.equal(editor.render(12), "\r\x1b[2K> rstuvwxyz");
  type(editor, "\x01");
  assert.equal(editor.render(12), "\r\x1b[2K> abcdefghi\x1b[9D");
  type(editor, RIGHT.repeat(12));
  assert.equal(editor.render(12), "\r\x1b[2K> efghijklm\x1b[1D");
  type(editor, "\x05");
  assert.equal(editor.render(12), "\r\x1b[2K> rstuvwxyz");
  // Deleting scrolls back, so the row stays full.
  type(editor, "\x7f".repeat(3));
  assert.equal(editor.render(12), "\r\x1b[2K> opqrstuvw");
  for (let columns = 3; columns <= 40; columns++) {
    const drawn = editor.render(columns);
    const cursorMove = drawn.indexOf("\x1b", 1);
    const shown = drawn.slice("\r\x1b[2K> ".length, cursorMove < 0 ? undefined : cursorMove);
    assert.ok(2 + displayWidth(shown) <= Math.max(columns - 1, 3), `${columns} columns`);
  }
});

test("LineEditor counts wide characters as two columns", () => {
  assert.equal(displayWidth("日本語"), 6);
  assert.equal(displayWidth("😀 e\u0301"), 4);
  const editor = new LineEditor("> ");
  type(editor, `日本語${LEFT}`);
  assert.equal(editor.render(80), "\r\x1b[2K> 日本語\x1b[2D");
  assert.equal(editor.render(7), "\r\x1b[2K> 本語\x1b[2D");
});

test("printable drops control and bidirectional characters, and turns tabs into spaces", () => {
  assert.equal(
    printable("<m\x1balory> \x1b[2Jhi\x07\tthere\u202e!\u0085\r\n"),
    "<malory> [2Jhi there!",
  );
  assert.equal(printable("ünïcode ✓ 日本"), "ünïcode ✓ 日本");
});

test("KeyDecoder turns Tab into the complete key, and a Tab in a bracketed paste into a space", () => {
  assert.deepEqual(decode("al\t"), [{ type: "text", text: "al" }, { type: "complete" }]);
  assert.deepEqual(decode("\x1b[200~a\tb", "\tc\x1b[201", "~\t"), [
    { type: "text", text: "a b" },
    { type: "text", text: " c" },
    { type: "complete" },
  ]);
});

/** An editor whose Tab offers `choices` for any word that starts them, recording what it asked. */
function completing(choices: string[]): { editor: LineEditor; asked: [string, string][] } {
  const editor = new LineEditor();
  const asked: [string, string][] = [];
  editor.completer = (before, word) => {
    asked.push([before, word]);
    return choices.filter((choice) => choice.startsWith(word));
  };
  return { editor, asked };
}

test("LineEditor completes the word before the cursor on Tab, and cycles on Tab again", () => {
  const { editor, asked } = completing(["alice ", "alicia ", "bob "]);
  type(editor, "hi al");
  assert.deepEqual(type(editor, "\t"), [{ type: "changed" }]);
  assert.deepEqual(asked, [["hi ", "al"]]);
  assert.equal(state(editor), "hi alice |");
  type(editor, "\t");
  assert.equal(state(editor), "hi alicia |");
  type(editor, "\t");
  assert.equal(state(editor), "hi alice |", "round again");
  assert.equal(asked.length, 1, "the choices are asked for once");
  // Any other key ends the cycle: the next Tab completes the word then before the cursor.
  type(editor, "and b\t");
  assert.equal(state(editor), "hi alice and bob |");
  // In the middle of a line, only the text before the cursor is the word.
  type(editor, `\x01${RIGHT.repeat(5)}\t`);
  assert.equal(state(editor), "hi alice |ice and bob ");
});

test("LineEditor Tab changes nothing without a completer, a match, or another choice", () => {
  const bare = new LineEditor();
  type(bare, "al");
  assert.deepEqual(type(bare, "\t"), [{ type: "unchanged" }]);
  assert.equal(state(bare), "al|");
  const { editor } = completing(["alice "]);
  type(editor, "zed");
  assert.deepEqual(type(editor, "\t"), [{ type: "unchanged" }]);
  type(editor, " al");
  assert.deepEqual(type(editor, "\t\t"), [{ type: "changed" }, { type: "unchanged" }]);
  assert.equal(state(editor), "zed alice |");
});

test("LineEditor makes completions printable, whatever the completer offers", () => {
  const { editor } = completing(["m\x1b[31mallory "]);
  type(editor, "m\t");
  assert.equal(editor.text, "m[31mallory ");
});

const WORDS: ChatWords = {
  commands: ["/join", "/part", "/rooms", "/who", "/msg", "/nick", "/me", "/help", "/quit"],
  nicks: ["alice", "Alicia", "bob"],
  allNicks: ["alice", "Alicia", "bob", "carol"],
  rooms: ["den", "lobby", "deck"],
};

test("chatCompleter completes commands, and nicks with ': ' at the start of a line", () => {
  const complete = chatCompleter(() => WORDS);
  assert.deepEqual(complete("", "/j"), ["/join "]);
  assert.deepEqual(complete("", "/M"), ["/me ", "/msg "]);
  assert.deepEqual(complete("", "al"), ["alice: ", "Alicia: "]);
  assert.deepEqual(complete("  ", "B"), ["bob: "]);
  assert.deepEqual(complete("thanks ", "bo"), ["bob "]);
  assert.deepEqual(complete("thanks ", "ca"), [], "carol is in another room");
  assert.deepEqual(complete("thanks ", ""), [], "an empty word completes nothing");
  assert.deepEqual(complete("see ", "/j"), [], "a command only starts a line");
  assert.deepEqual(complete("", "//x"), []);
});

test("chatCompleter completes any nick after /msg, and rooms after /join, /part and /who", () => {
  const complete = chatCompleter(() => WORDS);
  assert.deepEqual(complete("/msg ", "c"), ["carol "]);
  assert.deepEqual(complete("/MSG  ", "a"), ["alice ", "Alicia "]);
  assert.deepEqual(complete("/join ", "de"), ["deck ", "den "]);
  assert.deepEqual(complete("/part ", "l"), ["lobby "]);
  assert.deepEqual(complete("/who ", "L"), ["lobby "]);
  assert.deepEqual(complete("/nick ", "a"), []);
  assert.deepEqual(complete("/me waves at ", "b"), ["bob "]);
  assert.deepEqual(complete("/msg carol hi ", "a"), ["alice ", "Alicia "]);
});

test("mentions finds the nick as a word of its own, in any case", () => {
  for (const text of ["zoe", "hi zoe", "Zoe: look", "@ZOE!", "(zoe)", "zoe's", "ok,zoe"]) {
    assert.ok(mentions(text, "zoe"), text);
  }
  for (const text of ["zoey", "zozoe", "zoe2", "zoe_x", "zoé", "z o e", ""]) {
    assert.ok(!mentions(text, "zoe"), text);
  }
  assert.ok(mentions("hey [m]a.x+, and you", "[m]a.x+"), "nicks with regex characters");
  assert.ok(!mentions("hey [m]aax+", "[m]a.x+"));
  assert.ok(mentions("ÉMILE, hi", "émile"));
  assert.ok(!mentions("anything", ""));
});

test("nickColour gives a nick the same colour every time, whatever its case", () => {
  const nicks = ["alice", "bob", "carol", "dave", "eve", "mallory", "zoe", "日本"];
  for (const nick of nicks) {
    assert.match(nickColour(nick), /^(3[1-6]|9[1-6])$/);
    assert.equal(nickColour(nick), nickColour(nick.toUpperCase()));
    assert.notEqual(nickColour(nick), "33", "yellow is for errors");
  }
  assert.ok(new Set(nicks.map(nickColour)).size >= 4, "nicks get different colours");
});

test("paint styles pieces only with colour on, and lets no escape through either way", () => {
  const line = ["* ", { text: "<m\x1b[2Jallory>", sgr: "31" }, " ", { text: "hi\x07", sgr: DIM }];
  assert.equal(paint(line, true), "* \x1b[31m<m[2Jallory>\x1b[0m \x1b[2mhi\x1b[0m");
  assert.equal(paint(line, false), "* <m[2Jallory> hi");
  assert.equal(plainText(line), "* <m[2Jallory> hi");
  assert.equal(paint([{ text: "", sgr: "1" }, "x"], true), "x", "no codes around nothing");
});
