/// <reference lib="dom" />
// Draws the page from its state. Every piece of text a member or the server chose goes in with
// textContent, never as HTML, so `<img src=x onerror=...>` in a message is only text.
import { clock } from "../protocol/text.ts";
import { type Conversation, dayLabel, type Entry, MAX_ENTRIES } from "./conversations.ts";
import type { PageState } from "./page_state.ts";

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = "",
  text = "",
): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text) made.textContent = text;
  return made;
}

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

// A nick's hue, the same on every page, so that a reader can follow one speaker: an FNV-1a hash,
// spread round the colour wheel by the golden angle so that similar nicks differ.
function hue(nick: string): number {
  let hash = 0x811c9dc5;
  for (const unit of nick.toLowerCase()) {
    hash ^= unit.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return Math.round((hash % 64) * 137.508) % 360;
}

function entryItem(entry: Entry): HTMLLIElement {
  switch (entry.kind) {
    case "day": {
      const item = element("li", "day", dayLabel(entry.ts, Date.now()));
      item.setAttribute("role", "separator");
      return item;
    }
    case "notice":
      return element("li", entry.error ? "notice error" : "notice", entry.text);
    case "chat": {
      const classes = ["said"];
      if (entry.action) classes.push("action");
      if (entry.mine) classes.push("mine");
      if (entry.mention) classes.push("mention");
      const item = element("li", classes.join(" "));
      item.dataset.id = String(entry.id);
      // Day separators say the date, so a line says only its time.
      const time = element("time", "", clock(entry.ts, entry.ts));
      time.dateTime = new Date(entry.ts).toISOString();
      const from = element("span", "from", entry.action ? `* ${entry.from}` : entry.from);
      from.style.setProperty("--hue", String(hue(entry.from)));
      item.append(time, " ", from, " ", element("span", "text", entry.text));
      return item;
    }
  }
}

// What the header says of the connection: nothing while all is well.
function status(state: PageState): string {
  switch (state.phase) {
    case "chatting":
    case "naming":
      return "";
    case "joining":
      return "connecting…";
    case "rejoining":
      return "reconnecting…";
    case "reconnecting": {
      const seconds = Math.ceil((state.retryAt - Date.now()) / 1000);
      return seconds > 0
        ? `${state.offline}; trying again in ${seconds} s`
        : `${state.offline}; reconnecting…`;
    }
  }
}

/** The page's elements, redrawn from a PageState by render(). */
export class View {
  readonly login = byId<HTMLFormElement>("login");
  readonly loginNick = byId<HTMLInputElement>("login-nick");
  readonly loginRoom = byId<HTMLInputElement>("login-room");
  readonly loginPassword = byId<HTMLInputElement>("login-password");
  /** The warning that a password would cross the network in clear. */
  readonly loginPlain = byId<HTMLParagraphElement>("login-plain");
  readonly chat = byId<HTMLDivElement>("chat");
  readonly line = byId<HTMLInputElement>("line");
  readonly say = byId<HTMLFormElement>("say");
  readonly notify = byId<HTMLButtonElement>("notify");
  readonly toggleMembers = byId<HTMLButtonElement>("toggle-members");
  readonly #loginProblem = byId<HTMLParagraphElement>("login-problem");
  readonly #loginJoin = byId<HTMLButtonElement>("login-join");
  readonly #list = byId<HTMLUListElement>("conversation-list");
  readonly #name = byId<HTMLHeadingElement>("conversation-name");
  readonly #status = byId<HTMLSpanElement>("status");
  readonly #log = byId<HTMLOListElement>("log");
  readonly #members = byId<HTMLUListElement>("member-list");
  #shown: Conversation | null = null; // the conversation whose log is drawn
  #lastSeq = 0; // the last entry of it drawn

  /** Called with a conversation the user picks from the list. */
  onPick: (conversation: Conversation) => void = () => {};

  render(state: PageState): void {
    const naming = state.phase === "naming";
    this.login.hidden = !naming;
    this.chat.hidden = naming;
    document.title = naming ? "Parley" : state.title();
    if (naming) {
      this.#loginProblem.textContent = state.problem;
      // Back on the form after being in a room (kicked, banned, or /quit): the way back in.
      this.#loginJoin.textContent = state.rooms.names.length > 0 ? "Join again" : "Join";
      return;
    }
    const active = state.conversations.active;
    this.#name.textContent = active ? (active.kind === "pm" ? `@${active.name}` : active.name) : "";
    this.#status.textContent = status(state);
    this.#drawList(state);
    this.#drawLog(active);
    this.#members.replaceChildren(...state.members().map((nick) => element("li", "", nick)));
  }

  #drawList(state: PageState): void {
    const active = state.conversations.active;
    // The list is drawn anew: a button that had the keyboard's focus keeps it.
    const focused = this.#list.contains(document.activeElement)
      ? (document.activeElement as HTMLElement).dataset.key
      : undefined;
    this.#list.replaceChildren(...state.conversations.list.map((conversation) => {
      const item = element("li", conversation.kind);
      const button = element("button");
      button.type = "button";
      button.dataset.key = conversation.key;
      if (conversation.unread > 0) item.classList.add("unread");
      if (conversation.mentions > 0) item.classList.add("mentioned");
      button.setAttribute("aria-current", String(conversation === active));
      button.append(element("span", "name", conversation.name));
      if (conversation.unread > 0) {
        const badge = element("span", "badge", String(conversation.unread));
        badge.setAttribute("aria-label", `${conversation.unread} unread`);
        button.append(badge);
      }
      button.addEventListener("click", () => this.onPick(conversation));
      item.append(button);
      return item;
    }));
    if (focused !== undefined) {
      this.#list.querySelector<HTMLElement>(`button[data-key="${CSS.escape(focused)}"]`)?.focus();
    }
  }

  // Draws what is new in the conversation on screen, or all of it when another one comes on
  // screen; keeps the log scrolled to the end if it was there.
  #drawLog(active: Conversation | null): void {
    const log = this.#log;
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    if (active !== this.#shown) {
      this.#shown = active;
      this.#lastSeq = 0;
      log.replaceChildren();
    }
    if (!active) return;
    const fresh = active.entries.filter((entry) => entry.seq > this.#lastSeq);
    if (fresh.length === 0) return;
    log.append(...fresh.map(entryItem));
    this.#lastSeq = fresh.at(-1)!.seq;
    while (log.childElementCount > MAX_ENTRIES) log.firstElementChild!.remove();
    if (atEnd || fresh.length === active.entries.length) {
      log.scrollTop = log.scrollHeight;
    }
  }
}
