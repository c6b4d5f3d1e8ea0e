import { test } from "node:test";
import assert from "node:assert/strict";
import { chatCompleter, type ChatWords } from "../../client/completion.ts";
import { slashCommands } from "../../protocol/typed_lines.ts";

const WORDS: ChatWords = {
  nicks: ["alice", "Alicia", "bob"],
  allNicks: ["alice", "Alicia", "bob", "carol"],
  rooms: ["den", "lobby", "deck"],
};

test("chatCompleter completes commands, and nicks with ': ' at the start of a line", () => {
  const complete = chatCompleter(() => WORDS);
  assert.deepEqual(complete("", "/j"), ["/join "]);
  assert.deepEqual(complete("", "/M"), ["/me ", "/msg ", "/mute "]);
  assert.deepEqual(complete("/kick ", "b"), ["bob "], "a nick in the room, for an operator");
  for (const command of ["/op", "/deop", "/unmute", "/mute"]) {
    assert.deepEqual(complete(`${command} `, "B"), ["bob "], `${command} completes a nick`);
  }
  assert.deepEqual(complete("/unban ", "b"), [], "a mask is not completed");
  assert.deepEqual(complete("", "al"), ["alice: ", "Alicia: "]);
  assert.deepEqual(complete("  ", "B"), ["bob: "]);
  assert.deepEqual(complete("thanks ", "bo"), ["bob "]);
  assert.deepEqual(complete("thanks ", "ca"), [], "carol is in another room");
  assert.deepEqual(complete("thanks ", ""), [], "an empty word completes nothing");
  assert.deepEqual(complete("see ", "/j"), [], "a command only starts a line");
  assert.deepEqual(complete("", "//x"), []);
});

test("chatCompleter completes any nick after /msg, /whois and /ignore, and rooms after /join, /part and /who", () => {
  const complete = chatCompleter(() => WORDS);
  assert.deepEqual(complete("/msg ", "c"), ["carol "]);
  assert.deepEqual(complete("/MSG  ", "a"), ["alice ", "Alicia "]);
  assert.deepEqual(complete("/join ", "de"), ["deck ", "den "]);
  assert.deepEqual(complete("/part ", "l"), ["lobby "]);
  assert.deepEqual(complete("/who ", "L"), ["lobby "]);
  assert.deepEqual(complete("/nick ", "a"), []);
  for (const command of ["/whois", "/ignore", "/unignore"]) {
    assert.deepEqual(complete(`${command} `, "c"), ["carol "], `${command} takes any nick`);
  }
  assert.deepEqual(complete("/away ", "b"), ["bob "]);
  assert.deepEqual(complete("/me waves at ", "b"), ["bob "]);
  assert.deepEqual(complete("/msg carol hi ", "a"), ["alice ", "Alicia "]);
});

test("chatCompleter offers every command of the slash-command table, and only those", () => {
  const complete = chatCompleter(() => WORDS);
  const names = slashCommands("client").map(({ name }) => `${name} `);
  assert.deepEqual(complete("", "/"), names.toSorted((a, b) => a.localeCompare(b)));
});
