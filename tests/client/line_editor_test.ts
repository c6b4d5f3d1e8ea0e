import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyDecoder } from "../../client/key_decoder.ts";
import { displayWidth, LineEditor, type Outcome } from "../../client/line_editor.ts";

const utf8 = new TextEncoder();

/** Types `input` (raw terminal bytes) into `editor`, returning what each key did. */
function type(editor: LineEditor, input: string): Outcome[] {
  return new KeyDecoder().push(utf8.encode(input)).map((key) => editor.apply(key));
}

/** The line with a "|" where the cursor is. */
function state(editor: LineEditor): string {
  return `${editor.text.slice(0, editor.cursor)}|${editor.text.slice(editor.cursor)}`;
}

const LEFT = "\x1b[D";
const RIGHT = "\x1b[C";
const UP = "\x1b[A";
const DOWN = "\x1b[B";

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

test("LineEditor in secret mode shows the prompt only, and forgets the line", () => {
  const editor = new LineEditor("password: ");
  type(editor, "earlier\r");
  editor.secret = true;
  type(editor, "hunter22");
  assert.equal(editor.render(40), "\r\x1b[2Kpassword: ");
  assert.deepEqual(type(editor, "\r"), [{ type: "submit", line: "hunter22" }]);
  editor.secret = false;
  type(editor, UP);
  assert.equal(editor.text, "earlier", "the password is not in the history");
});
