// The page's conversations, with no DOM and no I/O: one per room the user is in and one per member
// they talk with privately, each a log of what was said there (with a day separator where the day
// changes), an unread count, and a count of what named the user. page_state.ts fills them; the
// view draws them.
import { nameKey } from "../protocol.ts";

/** A line of a conversation's log. `seq` rises by one for each entry of the page, in every log. */
export type Entry =
  | { seq: number; kind: "day"; ts: number }
  | {
    seq: number;
    kind: "chat";
    ts: number;
    id: number;
    from: string;
    text: string;
    action: boolean;
    /** The user's own words, come back from the server. */
    mine: boolean;
    /** Someone else named the user, or wrote to them privately. */
    mention: boolean;
  }
  | { seq: number; kind: "notice"; ts: number; text: string; error: boolean };

export type ConversationKind = "room" | "pm";

// A log keeps this many entries; older ones are dropped, as the view drops their lines.
export const MAX_ENTRIES = 2000;

export class Conversation {
  readonly kind: ConversationKind;
  name: string;
  readonly entries: Entry[] = [];
  /** Chat lines that came while the user looked elsewhere. */
  unread = 0;
  /** Of those, the ones that named the user (every private message from someone else counts). */
  mentions = 0;
  #lastDay = "";

  constructor(kind: ConversationKind, name: string) {
    this.kind = kind;
    this.name = name;
  }

  get key(): string {
    return conversationKey(this.kind, this.name);
  }

  /** Appends `entry`, after a day separator if it is the first of its local day here. */
  append(entry: DistributiveOmit<Entry, "seq">, nextSeq: () => number): void {
    const day = localDay(entry.ts);
    if (day !== this.#lastDay) {
      this.#lastDay = day;
      this.entries.push({ seq: nextSeq(), kind: "day", ts: entry.ts });
    }
    // Numbered after its separator: the view draws entries in the order of their numbers.
    this.entries.push({ ...entry, seq: nextSeq() } as Entry);
    if (this.entries.length > MAX_ENTRIES) {
      this.entries.splice(0, this.entries.length - MAX_ENTRIES);
    }
  }
}

/** Where a conversation is kept: rooms and nicks compare ignoring case and compatibility forms. */
export function conversationKey(kind: ConversationKind, name: string): string {
  return `${kind}:${nameKey(name)}`;
}

/** `ts` as its local date, for telling days apart: "2026-12-03". */
export function localDay(ts: number): string {
  const date = new Date(ts);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** What a day separator says, seen at `now`: "Today", "Yesterday", or the date. */
export function dayLabel(ts: number, now: number): string {
  const day = localDay(ts);
  if (day === localDay(now)) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (day === localDay(yesterday.getTime())) return "Yesterday";
  return new Date(ts).toLocaleDateString("en-GB", {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
  });
}

/** Every conversation, in the order opened, one of them the one on screen. */
export class Conversations {
  #all = new Map<string, Conversation>();
  #activeKey = "";
  #seq = 0;
  /** Whether the user can see the page (a hidden tab counts everything as unread). */
  visible = true;

  readonly nextSeq = (): number => ++this.#seq;

  get list(): Conversation[] {
    return [...this.#all.values()];
  }

  get active(): Conversation | null {
    return this.#all.get(this.#activeKey) ?? null;
  }

  get(kind: ConversationKind, name: string): Conversation | null {
    return this.#all.get(conversationKey(kind, name)) ?? null;
  }

  /** The conversation, opened if need be (a new one is not put on screen). */
  open(kind: ConversationKind, name: string): Conversation {
    const key = conversationKey(kind, name);
    let conversation = this.#all.get(key);
    if (!conversation) {
      conversation = new Conversation(kind, name);
      this.#all.set(key, conversation);
    } else {
      conversation.name = name; // as the server spells it now
    }
    if (!this.active) this.#activeKey = key;
    return conversation;
  }

  /** Puts `conversation` on screen; what it had unread is read. */
  activate(conversation: Conversation): void {
    this.#activeKey = conversation.key;
    if (this.visible) conversation.unread = conversation.mentions = 0;
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    const active = this.active;
    if (visible && active) active.unread = active.mentions = 0;
  }

  /** Closes `conversation`; if it was on screen, `next` (or the last one opened) takes its place. */
  close(conversation: Conversation, next?: Conversation): void {
    this.#all.delete(conversation.key);
    if (this.#activeKey !== conversation.key) return;
    const successor = next ?? this.list.at(-1);
    this.#activeKey = "";
    if (successor) this.activate(successor);
  }

  /** A private conversation follows its member's new nick. */
  rename(kind: ConversationKind, from: string, to: string): void {
    const conversation = this.get(kind, from);
    if (!conversation) return;
    const wasActive = this.#activeKey === conversation.key;
    this.#all.delete(conversation.key);
    conversation.name = to;
    this.#all.set(conversation.key, conversation);
    if (wasActive) this.#activeKey = conversation.key;
  }

  /**
   * Adds a line to `conversation`. One that `counts` (chat from others) is unread unless the user
   * sees it come; `mention` also counts it as naming them.
   */
  add(
    conversation: Conversation,
    entry: DistributiveOmit<Entry, "seq">,
    counts = false,
    mention = false,
  ): void {
    conversation.append(entry, this.nextSeq);
    if (!counts || (this.visible && this.#activeKey === conversation.key)) return;
    conversation.unread++;
    if (mention) conversation.mentions++;
  }

  /** What the tab's title counts: the lines that named the user and are not read yet. */
  get mentions(): number {
    return this.list.reduce((sum, conversation) => sum + conversation.mentions, 0);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
