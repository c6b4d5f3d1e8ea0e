/// <reference lib="dom" />
// The browser page's entry: the WebSocket to the server's /ws (one native-protocol JSON message per
// text message), the keyboard, and the desktop's notifications. What any of it means is decided in
// page_state.ts; how it looks, in view.ts.
import type { ClientMessage } from "../protocol.ts";
import { isLoopbackHost } from "../protocol/loopback.ts";
import { chatCompleter } from "../client/completion.ts";
import type { Conversation } from "./conversations.ts";
import { PageState } from "./page_state.ts";
import { View } from "./view.ts";

const NICK_KEY = "parley.nick";
const ROOM_KEY = "parley.room";
const IGNORED_KEY = "parley.ignored"; // the nicks ignored, as JSON: kept across reloads
const SENT_KEPT = 100; // lines Up and Down can recall

const view = new View();
let state = newState();
let socket: WebSocket | null = null;
let retry: ReturnType<typeof setTimeout> | undefined;
let drawing = false;
const sent: string[] = [];
let recall = 0; // how far back Up has gone in `sent`
// The password of a registered nick, from the join form: in memory only, never in localStorage,
// and given in every hello, so that a reconnect (after a server restart, say) keeps the nick.
let password = "";

function newState(): PageState {
  const state = new PageState({
    send,
    close: () => socket?.close(),
    notify: (title, body) => {
      if ("Notification" in globalThis && Notification.permission === "granted") {
        new Notification(title, { body, tag: "parley" });
      }
    },
  });
  state.ignored = storedIgnored();
  return state;
}

// What a reload finds of the ignore list; anything but a list of strings counts as none.
function storedIgnored(): string[] {
  try {
    const stored = JSON.parse(localStorage.getItem(IGNORED_KEY) ?? "[]");
    return Array.isArray(stored) ? stored.filter((nick) => typeof nick === "string") : [];
  } catch {
    return [];
  }
}

function send(message: ClientMessage): void {
  if (message.type === "hello" && password !== "") message = { ...message, password };
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

// Many messages come at once (a room's history): the page is drawn once they are all in.
function redraw(): void {
  if (drawing) return;
  drawing = true;
  setTimeout(() => {
    drawing = false;
    view.render(state);
    if (state.nick) localStorage.setItem(NICK_KEY, state.nick);
    localStorage.setItem(IGNORED_KEY, JSON.stringify(state.ignored));
  }, 0);
}

function socketUrl(): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

function connect(): void {
  clearTimeout(retry);
  if (state.phase === "naming") return; // the user left meanwhile
  const ws = new WebSocket(socketUrl());
  let opened = false;
  socket = ws;
  ws.addEventListener("open", () => {
    if (socket !== ws) return;
    opened = true;
    state.connected();
    redraw();
  });
  ws.addEventListener("message", (event) => {
    if (socket !== ws || typeof event.data !== "string") return;
    state.received(event.data);
    redraw();
  });
  ws.addEventListener("close", (event) => {
    if (socket !== ws) return;
    socket = null;
    const why = !opened
      ? "cannot reach the server"
      : event.reason || (event.code === 1006 ? "the connection was lost" : "the server closed it");
    const wait = state.disconnected(why);
    if (wait !== null) retry = setTimeout(connect, wait);
    redraw();
    if (state.phase === "naming") view.loginNick.focus();
  });
}

function pick(conversation: Conversation): void {
  state.show(conversation);
  redraw();
  view.line.focus();
}

// The conversation `step` places away from the one on screen, round the list.
function switchBy(step: number): void {
  const list = state.conversations.list;
  const at = list.indexOf(state.conversations.active!);
  if (list.length > 0) pick(list[(at + step + list.length) % list.length]);
}

// Tab: the choices for the word before the cursor, and which one was offered last.
let completion: { start: number; choices: string[]; index: number; offered: string } | null = null;
const complete = chatCompleter(() => state.rooms.words(state.nick));

function tab(input: HTMLInputElement): void {
  const { value } = input;
  const cursor = input.selectionStart ?? value.length;
  if (completion && value.slice(completion.start, cursor) === completion.offered) {
    completion.index = (completion.index + 1) % completion.choices.length;
  } else {
    const before = value.slice(0, cursor);
    const start = before.search(/\S*$/);
    const choices = complete(before.slice(0, start), before.slice(start));
    if (choices.length === 0) return;
    completion = { start, choices, index: 0, offered: "" };
  }
  const choice = completion.choices[completion.index];
  input.value = value.slice(0, completion.start) + choice + value.slice(cursor);
  completion.offered = choice;
  const at = completion.start + choice.length;
  input.setSelectionRange(at, at);
}

function keydown(event: KeyboardEvent): void {
  const input = view.line;
  // Alt: the browser keeps Ctrl+PageUp and Ctrl+PageDown for its own tabs.
  if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
    event.preventDefault();
    return switchBy(event.key === "ArrowUp" ? -1 : 1);
  }
  if (event.target !== input) {
    if (event.key === "Escape") input.focus();
    return;
  }
  if (event.key === "Tab" && !event.shiftKey && input.value !== "") {
    event.preventDefault();
    return tab(input);
  }
  completion = event.key === "Shift" ? completion : null;
  if ((event.key === "ArrowUp" || event.key === "ArrowDown") && !event.altKey) {
    const back = recall + (event.key === "ArrowUp" ? 1 : -1);
    if (back < 0 || back > sent.length) return;
    event.preventDefault();
    recall = back;
    input.value = back === 0 ? "" : sent[sent.length - back];
  }
}

view.onPick = pick;
view.loginNick.value = localStorage.getItem(NICK_KEY) ?? "";
view.loginRoom.value = localStorage.getItem(ROOM_KEY) ?? "";
// Served in clear from another machine, the page says so where a password would be typed.
view.loginPlain.hidden = location.protocol !== "http:" || isLoopbackHost(location.hostname);
view.login.addEventListener("submit", (event) => {
  event.preventDefault();
  const nick = view.loginNick.value.trim();
  if (!nick) return;
  localStorage.setItem(NICK_KEY, nick);
  localStorage.setItem(ROOM_KEY, view.loginRoom.value.trim());
  password = view.loginPassword.value;
  view.loginPassword.value = "";
  socket?.close();
  state = newState();
  state.start(nick, view.loginRoom.value);
  connect();
  redraw();
  view.line.focus();
});
view.say.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = view.line.value;
  view.line.value = "";
  recall = 0;
  if (text.trim() !== "") sent.push(text);
  if (sent.length > SENT_KEPT) sent.shift();
  state.typed(text);
  redraw();
});
document.addEventListener("keydown", keydown);
document.addEventListener("visibilitychange", () => {
  state.conversations.setVisible(document.visibilityState === "visible");
  redraw();
});
view.toggleMembers.addEventListener("click", () => {
  const shown = view.chat.classList.toggle("show-members");
  view.toggleMembers.setAttribute("aria-expanded", String(shown));
});
if ("Notification" in globalThis && Notification.permission === "default") {
  view.notify.hidden = false;
  view.notify.addEventListener("click", async () => {
    await Notification.requestPermission();
    view.notify.hidden = Notification.permission !== "default";
  });
}
// The header counts down to the next attempt.
setInterval(() => {
  if (state.phase === "reconnecting") redraw();
}, 1000);
state.conversations.setVisible(document.visibilityState === "visible");
view.render(state);
view.loginNick.focus();
