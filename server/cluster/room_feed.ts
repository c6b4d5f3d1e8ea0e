// One room's events as a node receives them: from the room's channel while nothing is lost, from
// the room's stream when something was. Redis pub/sub delivers at most once (a reconnect, or a
// subscriber Redis dropped for falling behind, loses what was published meanwhile), so every event
// carries its id in the room, and a jump in ids, or a reconnect, means "read the stream from the
// last id applied". Events are applied one at a time, in id order, each once.
import { type RedisLink, roomKeys } from "./redis_link.ts";
import { splitBatch } from "./room_publisher.ts";
import type { Ban } from "../moderation.ts";

/** A room event as the stream and the channel carry it (its id and epoch beside it). */
export interface RoomEvent {
  id: number;
  /** msg, join, leave, nick, or notice (moderation's announcements: cluster/moderation_site.ts). */
  t: "msg" | "join" | "leave" | "nick" | "notice";
  /** The holder id (node:session) of the member it is about (a notice's: who does not hear it). */
  m: string;
  /** The nick (join, leave), the sender (msg), or the old nick (nick). */
  n: string;
  /** The room's name as first given. */
  r: string;
  /** msg, notice: the text; nick: the new nick. */
  x?: string;
  ts?: number;
  a?: true;
  /** nick: which change it is, the same in each of the member's rooms. */
  c?: string;
  /** notice: the ban it announces, for each node to enforce on its members in the room. */
  b?: Ban;
}

/** Applies one event; the feed waits for it before the next. */
export type Apply = (event: RoomEvent) => void | Promise<void>;

// Events read from the stream per request while catching up.
const PAGE = 500;

function parseEntry(id: string, json: string): RoomEvent {
  return { ...JSON.parse(json), id: Number(id.split("-")[0]) };
}

export class RoomFeed {
  /** The id of the last event applied (or skipped as known). */
  lastId = 0;
  /**
   * The id of the last event heard on the channel, applied or still waiting its turn: what
   * Rooms.check compares with Redis's count, since a busy node is behind in applying, not lost.
   */
  heardId = 0;
  epoch = "";
  #keys: ReturnType<typeof roomKeys>;
  #work: Promise<void> = Promise.resolve();
  #closed = false;
  #listener = (raw: string) => this.#heard(raw);
  #waiters: Array<{ id: number; resolve: () => void }> = []; // see reached
  // The id of the last event whose apply has finished. lastId is set before an event is applied,
  // and the join of this node's own member is applied over several turns (rooms.ts #admit).
  #doneId = 0;

  constructor(
    readonly roomKey: string,
    readonly link: RedisLink,
    readonly apply: Apply,
    readonly log: (line: string) => void,
  ) {
    this.#keys = roomKeys(roomKey);
  }

  /**
   * Subscribes, then learns the room's last id: whatever is published from then on is heard, and
   * everything up to that id is history. Rejects if Redis cannot be reached.
   */
  async open(): Promise<void> {
    await this.link.subscribe(this.#keys.channel, this.#listener);
    const [seq, epoch] = await Promise.all([
      this.link.commands.get(this.#keys.seq),
      this.link.commands.get(this.#keys.epoch),
    ]);
    this.lastId = this.heardId = Number(seq ?? 0);
    this.epoch = epoch ?? "";
    this.#done(); // what waited for the room while it opened
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeAll();
    await this.link.unsubscribe(this.#keys.channel, this.#listener).catch(() => {});
  }

  /** Runs `task` between two events, so that it sees the room as of `lastId`. */
  exclusive<T>(task: () => Promise<T> | T): Promise<T> {
    const done = this.#work.then(task);
    this.#work = done.then(() => {}, () => {});
    return done;
  }

  /** Reads and applies whatever the stream holds past `lastId`: after the link comes back. */
  catchUp(): void {
    this.exclusive(() => this.#fill(Infinity)).catch((error) => {
      this.log(`redis: catching up ${this.roomKey} failed (${error}); will retry`);
    });
  }

  // One channel message: a batch of the room's events (room_publisher.ts), applied in one go.
  #heard(raw: string): void {
    if (this.#closed) return;
    const { epoch, lines } = splitBatch(raw);
    const last = lines.at(-1)!;
    this.heardId = Number(last.slice(0, last.indexOf(" ")));
    this.exclusive(async () => {
      for (const line of lines) {
        if (this.#closed) return;
        const space = line.indexOf(" ");
        const id = Number(line.slice(0, space));
        if (epoch !== this.epoch) {
          // The room's ids started again (Redis lost its data, or the room is new): go on from here.
          if (this.epoch !== "" && this.lastId >= id) this.lastId = this.#doneId = id - 1;
          this.epoch = epoch;
          this.#wakeAll();
        }
        if (id <= this.lastId) continue; // read from the stream already
        if (id > this.lastId + 1) await this.#fill(id - 1);
        if (id <= this.lastId) continue;
        const event = JSON.parse(line.slice(space + 1)) as RoomEvent;
        event.id = id;
        this.lastId = id;
        try {
          const applying = this.apply(event);
          if (applying) await applying;
        } finally {
          this.#done(); // one that failed is done with too: what waits for it must not wait on
        }
      }
    }).catch((error) => this.log(`redis: events in ${this.roomKey} failed: ${error}`));
  }

  /**
   * Resolves once the event `id` has been applied, its apply finished (or the feed closed, or its
   * ids started again).
   */
  reached(id: number): Promise<void> {
    if (this.#closed || id <= this.#doneId) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ id, resolve });
    return promise;
  }

  // Every event up to lastId is applied, its apply finished: those waiting for them go on.
  #done(): void {
    this.#doneId = this.lastId;
    if (this.#waiters.length === 0) return;
    const still = this.#waiters.filter((waiter) => waiter.id > this.#doneId);
    for (const waiter of this.#waiters) if (waiter.id <= this.#doneId) waiter.resolve();
    this.#waiters = still;
  }

  #wakeAll(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  // Applies the stream's events after lastId up to `throughId`. Those trimmed from the stream
  // meanwhile are gone: the feed goes on after them, and says so (its members here miss them).
  async #fill(throughId: number): Promise<void> {
    while (!this.#closed && this.lastId < throughId) {
      const end = throughId === Infinity ? "+" : `${throughId}-0`;
      const entries = await this.link.commands.xRange(this.#keys.log, `(${this.lastId}-0`, end, {
        COUNT: PAGE,
      }) ?? [];
      for (const entry of entries) {
        const event = parseEntry(entry.id, String(entry.message.e));
        if (event.id <= this.lastId) continue;
        if (event.id > this.lastId + 1) this.#gone(event.id - 1);
        this.lastId = event.id;
        try {
          await this.apply(event);
        } finally {
          this.#done();
        }
      }
      if (entries.length < PAGE) {
        if (throughId !== Infinity && throughId > this.lastId) this.#gone(throughId);
        this.#done();
        return;
      }
    }
  }

  // Events after lastId through `throughId` are neither on the channel nor in the stream any
  // more: skipped, loudly, for an operator to size the streams (or the node) better.
  #gone(throughId: number): void {
    const count = throughId - this.lastId;
    this.log(
      `redis: ${count} event(s) of ${this.roomKey} (ids ${this.lastId + 1}-${throughId}) were ` +
        `lost on the channel and gone from the stream; this node's members miss them`,
    );
    this.lastId = throughId;
  }

  /** Up to `limit` events after `afterId` and through `throughId`, oldest first. */
  async range(afterId: number, throughId: number, limit: number): Promise<RoomEvent[]> {
    if (throughId <= afterId) return [];
    const entries = await this.link.commands.xRange(
      this.#keys.log,
      `(${afterId}-0`,
      `${throughId}-0`,
      { COUNT: limit },
    ) ?? [];
    return entries.map((entry) => parseEntry(entry.id, String(entry.message.e)));
  }

  /** The last `limit` events up to `throughId`, oldest first. */
  async last(throughId: number, limit: number): Promise<RoomEvent[]> {
    if (throughId <= 0 || limit <= 0) return [];
    const entries = await this.link.commands.xRevRange(this.#keys.log, `${throughId}-0`, "-", {
      COUNT: limit,
    }) ?? [];
    return entries.reverse().map((entry) => parseEntry(entry.id, String(entry.message.e)));
  }
}
