import { test } from "node:test";
import assert from "node:assert/strict";
import { PageState } from "../../web/page_state.ts";
import type { Entry } from "../../web/conversations.ts";
import type { ClientMessage } from "../../protocol.ts";

const NOON = new Date(2026, 11, 3, 12, 0).getTime();

/** A page with its socket and desktop recorded; `now` and the backoff's randomness fixed. */
function page(now = NOON) {
  const sent: ClientMessage[] = [];
  const notified: string[] = [];
  let closes = 0;
  const state = new PageState(
    {
      send: (message) => sent.push(message),
      close: () => closes++,
      notify: (title, body) => notified.push(`${title}: ${body}`),
    },
    () => now,
    () => 0,
  );
  const receive = (...messages: object[]) => {
    for (const message of messages) state.received(JSON.stringify(message));
  };
  return { state, sent, notified, receive, closes: () => closes };
}

/** A page that has joined lobby as alice, with bob there. */
function joined() {
  const p = page();
  p.state.start("alice");
  p.state.connected();
  p.receive({ type: "welcome", nick: "alice", room: "lobby", members: ["alice", "bob"] });
  p.sent.length = 0;
  return p;
}

function said(id: number, text: string, extra: object = {}) {
  return { type: "msg", id, from: "bob", room: "lobby", text, ts: NOON, ...extra };
}

/** The chat lines of a log, as "from: text". */
function chat(entries: Entry[]): string[] {
  return entries.flatMap((entry) => entry.kind === "chat" ? [`${entry.from}: ${entry.text}`] : []);
}

test("PageState says hello with echo, and the welcome opens the room on screen", () => {
  const { state, sent, receive } = page();
  state.start(" alice ", "den");
  assert.equal(state.phase, "joining");
  state.connected();
  assert.deepEqual(sent, [{ type: "hello", nick: "alice", room: "den", echo: true }]);
  receive({ type: "welcome", nick: "alice", room: "den", members: ["alice", "bob"] });
  assert.equal(state.phase, "chatting");
  assert.equal(state.conversations.active?.name, "den");
  assert.deepEqual(state.members(), ["alice", "bob"]);
  const last = state.conversations.active!.entries.at(-1)!;
  assert.equal(last.kind === "notice" && last.text, "you are alice in den; here: alice (you), bob");
});

test("PageState shows a refused nick on the nick form and closes the socket", () => {
  const { state, receive, closes } = page();
  state.start("bob");
  state.connected();
  receive({ type: "error", code: "nick_taken", message: "The nick bob is taken; choose another" });
  assert.equal(state.phase, "naming");
  assert.equal(state.problem, "The nick bob is taken; choose another");
  assert.equal(closes(), 1);
  assert.equal(state.disconnected("closed"), null, "no reconnect from the nick form");
});

test("PageState counts unread lines and mentions, notifies, and titles the tab", () => {
  const { state, receive, notified } = joined();
  receive({ type: "joined", room: "den", members: ["alice", "carol"] });
  assert.equal(state.conversations.active?.name, "den");
  const lobby = state.conversations.get("room", "lobby")!;
  receive(said(1, "anyone?"), said(2, "Alice: lunch?"), said(3, "malice"));
  assert.equal(lobby.unread, 3);
  assert.equal(lobby.mentions, 1);
  assert.deepEqual(notified, ["bob in lobby: Alice: lunch?"]);
  assert.equal(state.title(), "(1) den · Parley");

  state.show(lobby);
  assert.equal(lobby.unread, 0);
  assert.equal(state.title(), "lobby · Parley");
  assert.equal(state.rooms.current, "lobby", "lines go to the room on screen");

  // A hidden tab sees nothing come, even in the conversation on screen.
  state.conversations.setVisible(false);
  receive(said(4, "alice?"));
  assert.equal(state.title(), "(1) lobby · Parley");
  state.conversations.setVisible(true);
  assert.equal(state.title(), "lobby · Parley");
  // Nor does the history replayed on joining count, which was said before the user came.
  receive({ type: "joined", room: "den", members: ["alice", "carol"] });
  receive({ ...said(1, "alice, old news", { room: "den" }), history: true });
  assert.equal(lobby.unread + state.conversations.get("room", "den")!.unread, 0);
});

test("PageState keeps each private conversation apart, both ways, and follows a rename", () => {
  const { state, sent, receive, notified } = joined();
  receive({ type: "msg", id: 1, from: "bob", to: "alice", text: "psst", ts: NOON });
  const pm = state.conversations.get("pm", "BOB")!;
  assert.equal(pm.mentions, 1, "a private message names the user");
  assert.deepEqual(notified, ["bob: psst"]);
  state.show(pm);
  state.typed("hi bob");
  state.typed("/me waves");
  assert.deepEqual(sent, [
    { type: "msg", text: "hi bob", to: "bob" },
    { type: "msg", text: "waves", to: "bob", action: true },
  ]);
  receive({ type: "msg", id: 2, from: "alice", to: "bob", text: "hi bob", ts: NOON });
  assert.deepEqual(chat(pm.entries), ["bob: psst", "alice: hi bob"]);
  assert.deepEqual(state.members(), ["alice", "bob"]);

  receive({ type: "nick", from: "bob", nick: "rob", room: "lobby" });
  assert.equal(state.conversations.active, pm);
  assert.equal(pm.name, "rob");
  assert.equal(state.conversations.get("pm", "bob"), null);
  // /part in a private conversation closes it, and the room comes back on screen.
  state.typed("/part");
  assert.equal(state.conversations.active?.name, "lobby");
  assert.equal(state.conversations.get("pm", "rob"), null);
});

test("PageState sends the terminal client's commands, naming the room on screen", () => {
  const { state, sent, receive } = joined();
  for (const line of ["hello", "/me waves", "//slash", "/join den", "/who", "/rooms", "/nick al"]) {
    state.typed(line);
  }
  state.typed("   ");
  assert.deepEqual(sent, [
    { type: "msg", text: "hello", room: "lobby" },
    { type: "msg", text: "waves", room: "lobby", action: true },
    { type: "msg", text: "/slash", room: "lobby" },
    { type: "join", room: "den" },
    { type: "who", room: "lobby" },
    { type: "rooms" },
    { type: "nick", nick: "al" },
  ]);
  sent.length = 0;
  const lobby = state.conversations.active!;
  state.typed("/dance");
  state.typed("/msg bob");
  state.typed("/help");
  const notices = lobby.entries.flatMap((entry) => entry.kind === "notice" ? [entry.text] : []);
  assert.ok(notices.includes("unknown command /dance, try /help"));
  assert.ok(notices.includes("usage: /msg NICK TEXT"));
  assert.ok(notices.some((text) => text.startsWith("/join ROOM")), "help lists the table");
  assert.ok(notices.some((text) => text.startsWith("keys: ")));
  assert.deepEqual(sent, []);

  receive({ type: "joined", room: "den", members: ["alice"] });
  state.typed("/part");
  assert.deepEqual(sent, [{ type: "part", room: "den" }]);
  receive({ type: "leave", nick: "alice", room: "den" });
  assert.equal(state.conversations.active?.name, "lobby");
  assert.equal(state.conversations.get("room", "den"), null);
  assert.equal(state.rooms.current, "lobby");
});

test("PageState puts a day separator before each day's first line", () => {
  const { state, receive } = joined();
  const lobby = state.conversations.active!;
  const yesterday = new Date(2026, 11, 2, 23, 59).getTime();
  receive(
    said(1, "late", { ts: yesterday, history: true }),
    said(2, "early", { ts: NOON, history: true }),
    said(3, "now"),
  );
  const kinds = lobby.entries.map((entry) => entry.kind);
  // The welcome's notice came first, on the day the page was opened.
  assert.deepEqual(kinds, ["day", "notice", "day", "chat", "day", "chat", "chat"]);
});

test("PageState reconnects with backoff and shows every missed message once", () => {
  const { state, sent, receive } = joined();
  receive({ type: "joined", room: "den", members: ["alice"] });
  receive(said(1, "one"), said(2, "two"), said(1, "den one", { room: "den" }));
  state.show(state.conversations.get("room", "lobby")!);
  sent.length = 0;

  assert.equal(state.disconnected("the server closed the connection"), 0, "at once, first");
  assert.equal(state.phase, "reconnecting");
  const lobby = state.conversations.get("room", "lobby")!;
  const notices = () => lobby.entries.filter((entry) => entry.kind === "notice").length;
  const last = lobby.entries.at(-1)!;
  assert.equal(
    last.kind === "notice" && last.text,
    "disconnected: the server closed the connection; reconnecting",
  );
  const noticed = notices();
  state.typed("typed while away");
  // Failed attempts wait 0.5 s, 1 s, 2 s, ... up to 10 s.
  const waits = [1, 2, 3, 4, 5, 6].map(() => state.disconnected("connection refused"));
  assert.deepEqual(waits, [500, 1000, 2000, 4000, 8000, 10000]);
  assert.equal(notices(), noticed + 1, "failed attempts are not told in the log");
  assert.equal(state.offline, "connection refused");
  assert.equal(state.retryAt, NOON + 10000);

  state.connected();
  assert.equal(state.phase, "rejoining");
  assert.deepEqual(sent, [
    { type: "hello", nick: "alice", room: "lobby", since: 2, echo: true },
    { type: "ping" },
  ]);
  sent.length = 0;
  receive({ type: "welcome", nick: "alice", room: "lobby", members: ["alice", "bob"] });
  assert.deepEqual(sent, [
    { type: "join", room: "den", since: 1 },
    { type: "ping" },
    { type: "msg", text: "typed while away", room: "lobby" },
  ]);
  // History and live messages overlap; live ones wait until the history has caught up.
  receive(
    said(2, "two", { history: true }),
    said(3, "three", { history: true }),
    said(5, "five"),
    said(4, "four", { history: true }),
    said(5, "five", { history: true }),
    { type: "pong" },
  );
  receive(
    { type: "joined", room: "den", members: ["alice"] },
    said(2, "den two", { room: "den", history: true }),
    { type: "pong" },
  );
  assert.deepEqual(chat(lobby.entries), [
    "bob: one",
    "bob: two",
    "bob: three",
    "bob: four",
    "bob: five",
  ]);
  assert.deepEqual(chat(state.conversations.get("room", "den")!.entries), [
    "bob: den one",
    "bob: den two",
  ]);
  assert.equal(state.phase, "chatting");
  // Once back, the next drop starts the backoff over.
  assert.equal(state.disconnected("reset"), 0);
});

test("PageState says when the server restarted, and shows its new life's messages", () => {
  const { state, sent, receive } = page();
  state.start("alice");
  state.connected();
  receive({ type: "welcome", nick: "alice", room: "lobby", members: ["alice"], epoch: "e1" });
  receive(said(1, "one"), said(2, "two"));
  sent.length = 0;
  state.disconnected("the server closed the connection");
  state.connected();
  assert.deepEqual(sent[0], {
    type: "hello",
    nick: "alice",
    room: "lobby",
    since: 2,
    epoch: "e1",
    echo: true,
  });
  receive({ type: "welcome", nick: "alice", room: "lobby", members: ["alice"], epoch: "e2" });
  // The new life numbers from 1 again: its messages are new, not repeats of the old ones.
  // History came and nothing live yet: the page asks for more, and none follows.
  receive(said(1, "after", { history: true }), { type: "pong" }, { type: "pong" });
  receive(said(2, "later"));
  const lobby = state.conversations.get("room", "lobby")!;
  assert.deepEqual(chat(lobby.entries), ["bob: one", "bob: two", "bob: after", "bob: later"]);
  assert.ok(
    lobby.entries.some((entry) =>
      entry.kind === "notice" && entry.text === "the server restarted; showing what was said since"
    ),
  );
});

test("PageState answers /help and /quit while reconnecting, and then stays out", () => {
  const { state, sent, closes } = joined();
  state.disconnected("reset");
  const lobby = state.conversations.active!;
  state.typed("/help");
  assert.ok(
    lobby.entries.some((entry) => entry.kind === "notice" && entry.text.startsWith("/who")),
  );
  state.typed("/quit");
  assert.equal(state.phase, "naming");
  assert.equal(closes(), 1);
  assert.equal(state.disconnected("closed"), null);
  state.connected();
  assert.deepEqual(sent, [], "no hello after leaving");
});

test("PageState waits the longest before coming back after a flood", () => {
  const { state, receive } = joined();
  receive({ type: "error", code: "flood", message: "You are flooding" });
  assert.equal(state.disconnected("closed"), 10000);
});

test("PageState sends an operator's commands for the room on screen, and shows the answers", () => {
  const { state, sent, receive } = joined();
  state.typed("/kick bob calm down");
  state.typed("/ban 10.0.0.0/8 2h spam");
  state.typed("/kline account:eve");
  assert.deepEqual(sent, [
    { type: "kick", nick: "bob", reason: "calm down", room: "lobby" },
    { type: "ban", mask: "10.0.0.0/8", duration: 7200, reason: "spam", room: "lobby" },
    { type: "kline", mask: "account:eve" },
  ]);
  receive({ type: "error", code: "not_operator", message: "/kick is for operators of lobby" });
  receive({ type: "notice", text: "topic of lobby: tea" });
  const shown = state.conversations.active!.entries.flatMap((entry) =>
    entry.kind === "notice" ? [entry.text] : []
  );
  assert.ok(shown.includes("/kick is for operators of lobby"));
  assert.ok(shown.includes("topic of lobby: tea"));
});

test("PageState sends /ignore, /whois and /away, shows their answers, and says hello with its ignores", () => {
  const { state, sent, receive } = joined();
  state.ignored = ["carol", "not a nick"]; // as app.ts found them in storage
  state.typed("/ignore bob");
  state.typed("/whois bob");
  state.typed("/away lunch");
  assert.deepEqual(sent.splice(0), [
    { type: "ignore", nick: "bob" },
    { type: "whois", nick: "bob" },
    { type: "away", text: "lunch" },
  ]);
  receive(
    { type: "ignoring", nicks: ["carol", "bob"] },
    {
      type: "whois",
      nick: "bob",
      rooms: ["lobby"],
      since: NOON,
      idle: 5,
      transport: "tcp",
      mode: "line",
    },
    { type: "away", nick: "bob", text: "out" },
  );
  assert.deepEqual(state.ignored, ["carol", "bob"]);
  const notices = state.conversations.active!.entries.flatMap((entry) =>
    entry.kind === "notice" ? [entry.text] : []
  );
  const [ignoring, whois, away] = notices.slice(-3);
  assert.deepEqual([ignoring, away], ["ignoring: carol, bob", "bob is away: out"]);
  // The date too, on a day other than the one NOON is on.
  assert.match(
    whois,
    /^bob \(not identified\), in lobby; here since (2026-12-03 )?12:00, idle 5 s; over tcp, line mode$/,
  );
  state.disconnected("the connection was lost");
  state.connected();
  assert.deepEqual(sent.splice(0, 1), [
    { type: "hello", nick: "alice", room: "lobby", since: 0, echo: true, ignore: ["carol", "bob"] },
  ]);
});

test("PageState does not reconnect after a kick or a ban that closed it, only after a refusal", () => {
  for (const code of ["kicked", "banned"]) {
    const { state, receive } = joined();
    receive({ type: "error", code, message: `You were put out of lobby (${code})` });
    assert.equal(state.disconnected("You were put out of lobby"), null, code);
    assert.equal(state.phase, "naming");
    assert.equal(state.problem, `You were put out of lobby (${code})`);
  }
  // A ban that refuses a join leaves the connection open: a later drop is reconnected as any.
  const { state, receive } = joined();
  receive({ type: "error", code: "banned", message: "You are banned from den permanently" });
  receive({ type: "ping" });
  assert.equal(state.disconnected("the connection was lost"), 0);
  assert.equal(state.phase, "reconnecting");
});
