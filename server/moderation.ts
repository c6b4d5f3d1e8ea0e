// The rules of moderation, with no I/O: what a ban mask matches (a nick by its look-alikes, an
// account, an address or prefix), when a ban or mute runs out, who owns and operates a room, and
// who may act where. The records are kept by a ModerationStore (server/sqlite/moderation.ts with
// --data, memory without); this keeps them all in memory too, read once at start, so that every
// join and message is checked without waiting. What members are told is moderation_handlers.ts.
import { lookalikeKeys, nameKey, ProtocolError } from "../protocol.ts";
import type { Who } from "../protocol/moderation.ts";
import { type Address, parseAddress, prefixHolds } from "./addresses.ts";

/** Where a ban holds: a room's key, or SERVER_WIDE. */
export const SERVER_WIDE = "*";

/** A ban (kept out) or a mute (heard by nobody), in a room or server-wide. */
export interface Ban {
  scope: string;
  kind: "ban" | "mute";
  /** The mask as canonicalMask writes it: "nick:bob", "account:bob", "10.0.0.0/8". */
  mask: string;
  by: string;
  reason: string;
  /** Epoch milliseconds it runs out at; null for never. */
  until: number | null;
  at: number;
}

export interface Topic {
  text: string;
  by: string;
  at: number;
}

/** What is kept about a room: its owner and operators (accounts) once claimed, and its topic. */
export interface RoomRecord {
  key: string;
  name: string;
  owner: string | null;
  ops: string[];
  topic: Topic | null;
}

export interface ModerationState {
  bans: Ban[];
  rooms: RoomRecord[];
}

/** One change to what is kept, as a cluster's nodes tell each other (see Moderation.heard). */
export type ModerationChange =
  | { kind: "ban"; ban: Ban }
  | { kind: "unban"; scope: string; ban: Ban["kind"]; mask: string }
  | { kind: "room"; room: RoomRecord }
  | { kind: "reset"; state: ModerationState };

/**
 * Where moderation is kept. Every method may answer later (a Redis store would), and throws or
 * rejects with ProtocolError when it cannot; the server waits for it before it acts.
 */
export interface ModerationStore {
  load(): ModerationState | Promise<ModerationState>;
  putBan(ban: Ban): void | Promise<void>;
  dropBan(scope: string, kind: Ban["kind"], mask: string): void | Promise<void>;
  /**
   * Keeps `room`, made from `previous` (null: none was kept). A store that others change at the
   * same time (a cluster's Redis) refuses it with StaleRoom if its record is not `previous` now.
   */
  putRoom(room: RoomRecord, previous: RoomRecord | null): void | Promise<void>;
}

/** The room's record changed since the one a change was made from: `current` is what is kept. */
export class StaleRoom extends Error {
  constructor(readonly current: RoomRecord | null) {
    super("the room's record changed meanwhile");
  }
}

// How often a change to a room is made again from a record another node changed meanwhile.
const STALE_TRIES = 5;

/**
 * Keeps moderation for as long as the process lives: a server without --data. The first time it
 * is given something to keep, it says once (through `warn`) that it will not outlive the server.
 */
export class MemoryModerationStore implements ModerationStore {
  #warn: ((line: string) => void) | null;

  constructor(warn: (line: string) => void = () => {}) {
    this.#warn = warn;
  }
  load(): ModerationState {
    return { bans: [], rooms: [] };
  }
  putBan(): void {
    this.#kept();
  }
  dropBan(): void {}
  putRoom(): void {
    this.#kept();
  }
  close(): void {}
  #kept(): void {
    this.#warn?.(
      "moderation: without --data, topics, bans and room owners last only until the server stops",
    );
    this.#warn = null;
  }
}

/** Who is being judged: the member's nick, the account it proved, and the address it is at. */
export interface Subject {
  nick: string | null;
  account: string | null;
  host: string;
}

export type Mask =
  | { kind: "nick"; text: string; keys: Set<string> }
  | { kind: "account"; text: string; key: string }
  | { kind: "address"; text: string; address: Address; bits: number };

/**
 * `text` read as a mask: `account:NAME`, `nick:NAME`, an IPv4 or IPv6 address with an optional
 * /prefix, or else a nick. Throws bad_mask.
 */
export function parseMask(text: string): Mask {
  const bad = (why: string) => new ProtocolError("bad_mask", `Cannot ban ${text}: ${why}`);
  const colon = text.indexOf(":");
  const prefix = colon > 0 ? text.slice(0, colon).toLowerCase() : "";
  if (prefix === "account" || prefix === "nick") {
    const name = text.slice(colon + 1);
    if (!name || /\s/.test(name)) throw bad(`${prefix}: needs a name`);
    return prefix === "account"
      ? { kind: "account", text: `account:${name}`, key: nameKey(name) }
      : nickMask(name);
  }
  const [host, bitsText, ...more] = text.split("/");
  const address = parseAddress(host);
  if (address) {
    const most = address.family === 4 ? 32 : 128;
    const bits = bitsText === undefined ? most : Number(bitsText);
    if (more.length > 0 || !/^\d{1,3}$/.test(bitsText ?? "0") || bits > most) {
      throw bad(`a prefix length is 0 to ${most}`);
    }
    return { kind: "address", text: bits === most ? host : `${host}/${bits}`, address, bits };
  }
  if (text.includes("/")) throw bad("not an address, nor a nick");
  if (!text || /\s/.test(text)) throw bad("a mask is one word");
  return nickMask(text);
}

function nickMask(nick: string): Mask {
  return {
    kind: "nick",
    text: `nick:${nick}`,
    keys: new Set([nameKey(nick), ...lookalikeKeys(nick)]),
  };
}

/** The mask's one spelling, so that `/unban Bob` finds what `/ban bob` made. */
export function canonicalMask(mask: Mask): string {
  switch (mask.kind) {
    case "nick":
      return `nick:${nameKey(mask.text.slice(5))}`;
    case "account":
      return `account:${mask.key}`;
    case "address":
      return mask.text.toLowerCase();
  }
}

/** Whether `mask` holds for `subject`. */
export function maskMatches(mask: Mask, subject: Subject): boolean {
  switch (mask.kind) {
    case "nick":
      if (subject.nick === null) return false;
      return mask.keys.has(nameKey(subject.nick)) ||
        lookalikeKeys(subject.nick).some((key) => mask.keys.has(key));
    case "account":
      return subject.account !== null && nameKey(subject.account) === mask.key;
    case "address": {
      const host = parseAddress(subject.host);
      return host !== null && prefixHolds(mask.address, mask.bits, host);
    }
  }
}

/** "until 2026-12-03 10:00 UTC" or "permanently": how a ban's end reads. */
export function untilText(until: number | null): string {
  if (until === null) return "permanently";
  return `until ${new Date(until).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** One parseable audit line: `audit action=ban room=lobby by=alice target=bob reason="..."`. */
export function auditLine(fields: Record<string, string | number | null | undefined>): string {
  const parts = ["audit"];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === null || value === "") continue;
    const text = String(value);
    parts.push(`${name}=${/^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text)}`);
  }
  return parts.join(" ");
}

/** The roles an account may have in a room, strongest first. */
export type Role = "server-operator" | "owner" | "op";

/** The moderation of one server: its operators, bans, mutes and rooms, and the rules over them. */
export class Moderation {
  #store: ModerationStore;
  #operators: Set<string>;
  #clock: () => number;
  #bans = new Map<string, Ban & { parsed: Mask }>(); // by scope, kind and canonical mask
  #rooms = new Map<string, RoomRecord>();

  private constructor(store: ModerationStore, operators: Iterable<string>, clock: () => number) {
    this.#store = store;
    this.#operators = new Set([...operators].map(nameKey));
    this.#clock = clock;
  }

  /** Reads what `store` kept; `operators` are the server operators' account names. */
  static async open(
    store: ModerationStore,
    operators: Iterable<string>,
    clock = Date.now,
  ): Promise<Moderation> {
    const moderation = new Moderation(store, operators, clock);
    moderation.#load(await store.load());
    return moderation;
  }

  now(): number {
    return this.#clock();
  }

  /** The strongest role `account` has in the room `roomKey` (any room, for server operators). */
  roleOf(account: string | null, roomKey: string | null): Role | null {
    if (account === null) return null;
    const key = nameKey(account);
    if (this.#operators.has(key)) return "server-operator";
    const room = roomKey === null ? undefined : this.#rooms.get(roomKey);
    if (!room || room.owner === null) return null;
    if (nameKey(room.owner) === key) return "owner";
    return room.ops.some((op) => nameKey(op) === key) ? "op" : null;
  }

  /** Whether `account` may use a command for `who` in the room `roomKey`. */
  allows(who: Who, account: string | null, roomKey: string | null): boolean {
    const role = this.roleOf(account, roomKey);
    switch (who) {
      case "anyone":
        return true;
      case "room-operator":
        return role !== null;
      case "room-owner":
        return role === "owner" || role === "server-operator";
      case "server-operator":
        return role === "server-operator";
    }
  }

  /** The ban or mute of `kind` in `scope` that holds for `subject` now, if any. */
  find(scope: string, kind: Ban["kind"], subject: Subject): Ban | null {
    const now = this.#clock();
    for (const ban of this.#bans.values()) {
      if (ban.scope !== scope || ban.kind !== kind) continue;
      if (ban.until !== null && ban.until <= now) continue; // run out: gone at the next listing
      if (maskMatches(ban.parsed, subject)) return ban;
    }
    return null;
  }

  /** The ban or mute of `kind` in `scope` of exactly `mask` (canonical), if it is still in force. */
  get(scope: string, kind: Ban["kind"], mask: string): Ban | null {
    const ban = this.#bans.get(banId(scope, kind, mask));
    return ban && (ban.until === null || ban.until > this.#clock()) ? ban : null;
  }

  /** The bans and mutes of `scope` still in force, oldest first; the ones run out are dropped. */
  list(scope: string): Ban[] {
    const now = this.#clock();
    const listed: Ban[] = [];
    for (const [id, ban] of this.#bans) {
      if (ban.scope !== scope) continue;
      if (ban.until !== null && ban.until <= now) {
        this.#bans.delete(id);
        void Promise.resolve().then(() => this.#store.dropBan(ban.scope, ban.kind, ban.mask))
          .catch(() => {}); // tried again at the next listing after a restart
        continue;
      }
      const { parsed: _, ...plain } = ban;
      listed.push(plain);
    }
    return listed.sort((a, b) => a.at - b.at);
  }

  /** Adds (or replaces) a ban or mute of `mask`, kept before it applies. */
  async ban(
    scope: string,
    kind: Ban["kind"],
    mask: Mask,
    by: string,
    reason: string,
    seconds?: number,
  ): Promise<Ban> {
    const at = this.#clock();
    const until = seconds === undefined ? null : at + seconds * 1000;
    const ban = { scope, kind, mask: canonicalMask(mask), by, reason, until, at };
    await this.#store.putBan(ban);
    this.#keep(ban);
    return ban;
  }

  /** Lifts the ban or mute of `mask` in `scope`; false if there was none. */
  async unban(scope: string, kind: Ban["kind"], mask: Mask): Promise<boolean> {
    const text = canonicalMask(mask);
    const id = banId(scope, kind, text);
    if (!this.#bans.has(id)) return false;
    await this.#store.dropBan(scope, kind, text);
    this.#bans.delete(id);
    return true;
  }

  room(key: string): RoomRecord | null {
    return this.#rooms.get(key) ?? null;
  }

  /** Makes `account` the owner of the room; throws already_claimed if it has one. */
  claim(key: string, name: string, account: string): Promise<void> {
    return this.#change(key, (room) => {
      if (room?.owner) {
        throw new ProtocolError("already_claimed", `${room.name} belongs to ${room.owner} already`);
      }
      return { key, name, owner: account, ops: [], topic: room?.topic ?? null };
    });
  }

  /** Makes `account` an operator of a claimed room, or not. */
  setOp(key: string, account: string, op: boolean): Promise<void> {
    return this.#change(key, (room) => {
      if (!room?.owner) throw notClaimed(key);
      const ops = room.ops.filter((name) => nameKey(name) !== nameKey(account));
      return { ...room, ops: op ? [...ops, account] : ops };
    });
  }

  setTopic(key: string, name: string, topic: Topic): Promise<void> {
    return this.#change(key, (room) => ({
      ...(room ?? { key, name, owner: null, ops: [], topic: null }),
      topic,
    }));
  }

  // A room's record, made by `make` from the one kept. In a cluster another node may change the
  // same room at the same moment (an /op there, a /topic here): the store then refuses this change
  // (StaleRoom), and it is made again from what the store has, so that neither is lost.
  async #change(key: string, make: (room: RoomRecord | null) => RoomRecord): Promise<void> {
    for (let tries = 1;; tries++) {
      const previous = this.#rooms.get(key) ?? null;
      const room = make(previous);
      try {
        await this.#store.putRoom(room, previous);
        this.#rooms.set(room.key, room);
        return;
      } catch (error) {
        if (!(error instanceof StaleRoom) || tries >= STALE_TRIES) throw error;
        if (error.current) this.#rooms.set(key, error.current);
        else this.#rooms.delete(key);
      }
    }
  }

  /**
   * What another node of a cluster changed, or all of it again (`reset`): taken as it is, not
   * kept again, since the store it came from has it already (cluster/moderation_store.ts).
   */
  heard(change: ModerationChange): void {
    switch (change.kind) {
      case "ban":
        return this.#keep(change.ban);
      case "unban":
        this.#bans.delete(banId(change.scope, change.ban, change.mask));
        return;
      case "room":
        this.#rooms.set(change.room.key, change.room);
        return;
      case "reset":
        this.#bans.clear();
        this.#rooms.clear();
        this.#load(change.state);
    }
  }

  #load(state: ModerationState): void {
    for (const ban of state.bans) this.#keep(ban);
    for (const room of state.rooms) this.#rooms.set(room.key, room);
  }

  #keep(ban: Ban): void {
    this.#bans.set(banId(ban.scope, ban.kind, ban.mask), { ...ban, parsed: parseMask(ban.mask) });
  }
}

function banId(scope: string, kind: string, mask: string): string {
  return `${scope}\n${kind}\n${mask}`;
}

export function notClaimed(room: string): ProtocolError {
  return new ProtocolError("not_claimed", `${room} is not claimed: /claim it first`);
}
