import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type ArgumentKind,
  permissionOf,
  type Place,
  SLASH_COMMANDS,
} from "../../protocol/slash_commands.ts";
import {
  helpLines,
  LINE_HELP,
  parseLine,
  slashCommandOf,
  slashCommands,
} from "../../protocol/typed_lines.ts";
import { ProtocolError } from "../../protocol.ts";

const PLACES: Place[] = ["line", "client"];

/** Asserts that `line` is refused with `code` and `message`, wherever it is typed. */
function refused(line: string, code: string, message: string): void {
  for (const place of PLACES) {
    assert.throws(() => parseLine(line, place), (error: ProtocolError) => {
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.code, code, `${line} in ${place}`);
      assert.equal(error.message, message, `${line} in ${place}`);
      return true;
    });
  }
}

test("parseLine reads messages, commands and escapes", () => {
  for (const place of PLACES) {
    assert.deepEqual(parseLine("hello", place), { type: "msg", text: "hello" });
    assert.deepEqual(parseLine("//etc/passwd", place), { type: "msg", text: "/etc/passwd" });
    assert.deepEqual(parseLine("//", place), { type: "msg", text: "/" });
    assert.deepEqual(parseLine(" /who", place), { type: "msg", text: " /who" });
    assert.deepEqual(parseLine("/nick al", place), { type: "nick", nick: "al" });
    assert.deepEqual(parseLine("/NICK  al ", place), { type: "nick", nick: "al" });
    assert.deepEqual(parseLine("/who", place), { type: "who" });
    assert.deepEqual(parseLine("/me waves", place), { type: "msg", text: "waves", action: true });
    assert.deepEqual(parseLine("/help", place), { type: "help" });
    assert.deepEqual(parseLine("/quit now", place), { type: "quit" });
    assert.equal(parseLine("", place), null);
    assert.equal(parseLine("   ", place), null);
  }
  refused("/frobnicate now", "unknown_command", "unknown command /frobnicate, try /help");
});

// One argument of each kind, as typed, and as the command's input receives it.
const SAMPLES: Record<ArgumentKind, Array<[typed: string, args: string[]]>> = {
  none: [["", []], [" ignored", []]],
  "optional-room": [["", []], [" den ", ["den"]]],
  room: [[" den", ["den"]]],
  name: [[" al", ["al"]]],
  nick: [[" bob ", ["bob"]]],
  "optional-nick": [["", []], [" bob", ["bob"]]],
  "optional-text": [["", []], [" at  lunch ", ["at  lunch"]]],
  text: [[" waves  at all ", ["waves  at all"]]],
  "nick-text": [[" bob  psst, there ", ["bob", "psst, there"]]],
  "word-rest": [[" bob", ["bob"]], [" bob  2h spam ", ["bob", "2h spam"]]],
};

test("every command in the table parses, in any case, with each form of its argument", () => {
  for (const command of SLASH_COMMANDS) {
    // /mute takes a duration only.
    const samples = command.name === "/mute"
      ? [[" bob", ["bob"]], [" bob 2h", ["bob", "2h"]]] as Array<[string, string[]]>
      : SAMPLES[command.argument];
    for (const [typed, args] of samples) {
      const expected = command.input(args);
      for (const name of [command.name, command.name.toUpperCase()]) {
        for (const place of PLACES) {
          if (!slashCommands(place).includes(command)) continue;
          assert.deepEqual(parseLine(name + typed, place), expected, `${name}${typed} in ${place}`);
          assert.equal(slashCommandOf(name + typed, place), command);
        }
      }
    }
  }
  assert.deepEqual(parseLine("/msg bob psst", "line"), { type: "msg", to: "bob", text: "psst" });
  assert.deepEqual(parseLine("/register pw-1", "line"), { type: "register", password: "pw-1" });
  assert.deepEqual(parseLine("/identify pw-1", "client"), { type: "identify", password: "pw-1" });
  assert.deepEqual(parseLine("/login Bob pw-1", "line"), {
    type: "login",
    nick: "Bob",
    password: "pw-1",
  });
  assert.deepEqual(parseLine("/passwd a1b2 c3d4", "line"), {
    type: "passwd",
    old: "a1b2",
    password: "c3d4",
  });
  assert.deepEqual(parseLine("/unregister pw-1", "line"), { type: "unregister", password: "pw-1" });
  assert.deepEqual(parseLine("/join den", "client"), { type: "join", room: "den" });
  assert.deepEqual(parseLine("/part", "client"), { type: "part" });
});

test("a command without its argument gives the table's usage, in line mode and the client", () => {
  const required = SLASH_COMMANDS.filter((command) =>
    ["room", "name", "nick", "text", "nick-text", "word-rest"].includes(command.argument)
  );
  assert.deepEqual(required.map(({ name }) => name), [
    "/join",
    "/msg",
    "/nick",
    "/register",
    "/identify",
    "/login",
    "/passwd",
    "/unregister",
    "/whois",
    "/unignore",
    "/me",
    "/op",
    "/deop",
    "/kick",
    "/ban",
    "/unban",
    "/mute",
    "/unmute",
    "/kline",
    "/unkline",
  ]);
  for (const { name, usage } of required) {
    refused(name, "bad_message", `usage: ${usage}`);
    refused(`${name}   `, "bad_message", `usage: ${usage}`);
  }
  refused("/msg bob", "bad_message", "usage: /msg NICK TEXT");
  refused("/msg bob   ", "bad_message", "usage: /msg NICK TEXT");
  refused("/login bob", "bad_message", "usage: /login NICK PASSWORD");
  refused("/passwd old", "bad_message", "usage: /passwd OLD NEW");
});

test("an unknown command is named, lower-cased, cleaned and cut short, wherever it is typed", () => {
  refused("/DANCE", "unknown_command", "unknown command /dance, try /help");
  refused("/", "unknown_command", "unknown command /, try /help");
  refused("/x\x1b[2J now", "unknown_command", "unknown command /x[2j, try /help");
  refused(`/${"y".repeat(40)}`, "unknown_command", `unknown command /${"y".repeat(31)}, try /help`);
  assert.equal(slashCommandOf("/dance", "line"), null);
  assert.equal(slashCommandOf("//quit", "client"), null);
  assert.equal(slashCommandOf("hello", "client"), null);
});

test("help lines come from the table: each usage, padded to one column, then its help", () => {
  for (const place of PLACES) {
    const lines = helpLines(place);
    const commands = slashCommands(place);
    assert.equal(lines.length, commands.length + 1);
    const column = lines[0].indexOf(commands[0].help);
    commands.forEach(({ usage, help, who }, i) => {
      const note = who === "anyone" ? "" : ` (${who.replace("-", " ")}s)`;
      assert.equal(lines[i], usage.padEnd(column) + help + note);
      assert.ok(lines[i].length > column && lines[i][column - 1] === " ", lines[i]);
    });
    assert.match(lines.at(-1)!, /^\/\/text +send a message that starts with "\/"$/);
  }
  assert.deepEqual(LINE_HELP, ["commands:", ...helpLines("line").map((line) => `  ${line}`)]);
  assert.deepEqual(
    SLASH_COMMANDS.map(({ name }) => name),
    [
      "/join",
      "/part",
      "/rooms",
      "/who",
      "/msg",
      "/nick",
      "/register",
      "/identify",
      "/login",
      "/passwd",
      "/unregister",
      "/away",
      "/whois",
      "/ignore",
      "/unignore",
      "/me",
      "/claim",
      "/op",
      "/deop",
      "/topic",
      "/kick",
      "/ban",
      "/unban",
      "/bans",
      "/mute",
      "/unmute",
      "/kline",
      "/unkline",
      "/klines",
      "/help",
      "/timestamps",
      "/quit",
    ],
  );
  assert.equal(slashCommandOf("/timestamps", "line"), null, "a client's own command");
  assert.deepEqual(parseLine("/TIMESTAMPS", "client"), { type: "timestamps" });
});

test("operator commands read a duration and a reason, and the table says who may send each", () => {
  assert.deepEqual(parseLine("/ban bob 2h spam  links", "line"), {
    type: "ban",
    mask: "bob",
    duration: 7200,
    reason: "spam  links",
  });
  assert.deepEqual(parseLine("/ban 10.0.0.0/8 being rude", "client"), {
    type: "ban",
    mask: "10.0.0.0/8",
    reason: "being rude",
  });
  assert.deepEqual(parseLine("/kline account:eve 7d", "line"), {
    type: "kline",
    mask: "account:eve",
    duration: 604800,
  });
  assert.deepEqual(parseLine("/kick bob go cool off", "line"), {
    type: "kick",
    nick: "bob",
    reason: "go cool off",
  });
  assert.deepEqual(parseLine("/topic", "line"), { type: "topic" });
  assert.deepEqual(parseLine("/topic  the plan ", "line"), { type: "topic", text: "the plan" });
  assert.deepEqual(parseLine("/mute bob 10m", "line"), {
    type: "mute",
    nick: "bob",
    duration: 600,
  });
  refused("/mute bob forever", "bad_message", "usage: /mute NICK [DURATION]");
  assert.equal(permissionOf("kick"), "room-operator");
  assert.equal(permissionOf("ban"), "room-operator");
  assert.equal(permissionOf("op"), "room-owner");
  assert.equal(permissionOf("kline"), "server-operator");
  assert.equal(permissionOf("topic"), "anyone");
  assert.equal(permissionOf("msg"), "anyone");
  assert.equal(permissionOf("hello"), "anyone", "a type no command sends");
  // One type, one rule: two commands that send the same type (/msg and /me) agree on who.
  for (const a of SLASH_COMMANDS) {
    for (const b of SLASH_COMMANDS) {
      const type = (command: typeof a) => command.input(SAMPLES[command.argument][0][1]).type;
      if (type(a) === type(b)) assert.equal(a.who, b.who, `${a.name} and ${b.name}`);
    }
  }
  assert.match(
    helpLines("line").find((line) => line.startsWith("/kline"))!,
    /\(server operators\)$/,
  );
});
