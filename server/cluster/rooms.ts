// The rooms a node serves: those where it has members, each with its feed of events from Redis
// (room_feed.ts). A node subscribes to a room only while a member of its own is in it. Members
// enter a room when Redis has numbered their join: what came before it is their history, what
// comes after it is live, so nothing is missed or doubled between the two.
import { deliver, LARGE_ROOM_MEMBERS, MAX_ROOMS_PER_MEMBER, type Member, Room } from "../chat.ts";
import type { Asker } from "../handlers.ts";
import { sendHistory } from "../handlers.ts";
import { MAX_HISTORY_REPLY } from "../history.ts";
import { type ChatMessage, nameKey, ProtocolError, roomProblem } from "../../protocol.ts";
import { roomKeys } from "./redis_link.ts";
import { type RoomEvent, RoomFeed } from "./room_feed.ts";
import type { Published } from "./room_publisher.ts";
import { clusterDown, memberList, streamLength } from "./members.ts";
import type { ClusterNode } from "./node.ts";
import { followAcross } from "./renames.ts";
import type { Ban } from "../moderation.ts";

interface Served {
  room: Room;
  feed: RoomFeed;
  opened: Promise<void>;
  /** Joins of this node's members under way: the room stays open for them. */
  joining: number;
}

interface Joining {
  asker: Asker;
  welcome: boolean;
  since?: number;
  published: Promise<Published>;
  done: () => void;
}

const asMessage = (event: RoomEvent, room: string, history?: true): ChatMessage => {
  const message: ChatMessage = {
    type: "msg",
    id: event.id,
    from: event.n,
    room,
    text: event.x!,
    ts: event.ts!,
  };
  if (event.a) message.action = true;
  if (history) message.history = true;
  return message;
};

export class Rooms {
  #served = new Map<string, Served>();
  #byRoom = new WeakMap<Room, Served>();
  #joining = new Map<string, Joining>(); // by holder and room key
  /**
   * Moderation's removal of the members a ban holds for, when its announcement comes in the
   * room's order: the room hears of the ban before it hears them leave (moderation_site.ts).
   */
  enforce: ((ban: Ban) => void | Promise<void>) | null = null;
  #checked = new WeakMap<Served, number>(); // each room's last id in Redis at the last check

  constructor(readonly node: ClusterNode) {}

  /** The room `member` is in by that name, or not_in_room. */
  roomOf(member: Member, roomName: string): Room {
    const served = this.#served.get(nameKey(roomName));
    if (!served || !member.rooms.has(served.room)) {
      throw new ProtocolError("not_in_room", `You are not in ${roomName}; /join it first`);
    }
    return served.room;
  }

  feedOf(room: Room): RoomFeed {
    return this.#byRoom.get(room)!.feed;
  }

  /** The id of the last event of the room `key` applied here; 0 where this node serves none. */
  lastIdOf(key: string): number {
    return this.#served.get(key)?.feed.lastId ?? 0;
  }

  /** Resolves once this node has applied the room's event `id`, or at once if it serves none. */
  reachedIn(key: string, id: number): Promise<void> {
    return this.#served.get(key)?.feed.reached(id) ?? Promise.resolve();
  }

  /**
   * Puts `asker` in `roomName` once Redis has numbered its join, with its welcome (or `joined`)
   * and history; returns how many are in the room then. A member in the room already just makes
   * it its current one.
   */
  async enter(asker: Asker, roomName: string, since: number | undefined, welcome: boolean) {
    const issue = roomProblem(roomName);
    if (issue) throw new ProtocolError("bad_room", issue);
    const key = nameKey(roomName);
    const here = this.#served.get(key);
    if (here && asker.rooms.has(here.room)) {
      asker.room = here.room;
      const nicks = await this.node.link.commands.hVals(roomKeys(key).members).catch(() => {
        throw clusterDown("the room could not be read");
      });
      asker.sendMessage({ type: "joined", room: here.room.name, ...memberList(nicks) });
      if (since !== undefined) {
        await here.feed.exclusive(async () => {
          const missed = await this.messages(here.room, since, MAX_HISTORY_REPLY);
          sendHistory(asker, missed, "oldest");
        });
      }
      return nicks.length;
    }
    if (asker.rooms.size >= MAX_ROOMS_PER_MEMBER) {
      throw new ProtocolError(
        "too_many_rooms",
        `You are in ${MAX_ROOMS_PER_MEMBER} rooms already; /part one first`,
      );
    }
    const served = await this.#open(key, roomName);
    const holder = this.node.holdings.get(asker)!.holder;
    const done = Promise.withResolvers<void>();
    const published = this.node.events.publish(served.room, {
      t: "join",
      m: holder,
      n: asker.nick!,
    });
    const joining: Joining = { asker, welcome, since, published, done: done.resolve };
    const joiningKey = `${holder} ${key}`;
    this.#joining.set(joiningKey, joining);
    served.joining++;
    try {
      const { id, members } = await published;
      if (id === 0) throw new Error(`${holder} is in ${key} already`); // holder ids are unique
      await done.promise;
      return members.length;
    } catch (error) {
      this.#joining.delete(joiningKey);
      throw error;
    } finally {
      served.joining--;
      this.#closeIfEmpty(served);
    }
  }

  async #open(key: string, roomName: string): Promise<Served> {
    let served = this.#served.get(key);
    if (!served) {
      const opening = Promise.withResolvers<void>();
      // The room's name is the one it was first given anywhere in the cluster.
      const room = new Room(roomName, 0);
      const feed = new RoomFeed(
        key,
        this.node.link,
        (event) => this.#apply(served!, event),
        this.node.options.log,
      );
      served = { room, feed, opened: opening.promise, joining: 0 };
      this.#served.set(key, served);
      this.#byRoom.set(room, served);
      const was = served;
      opening.promise.catch(() => {
        if (this.#served.get(key) === was) this.#served.delete(key);
      });
      (async () => {
        const stored = await this.node.link.commands.get(roomKeys(key).name);
        // Shown as first named anywhere in the cluster (the same key, so the same room).
        if (stored) (room as { name: string }).name = stored;
        await feed.open();
      })().then(opening.resolve, opening.reject);
    }
    try {
      await served.opened;
    } catch {
      throw clusterDown("you cannot join a room until it is back");
    }
    return served;
  }

  /** Takes `asker` out of `roomName`, tells it at once, and the room once Redis has it. */
  part(asker: Asker, roomName: string): void {
    const nick = asker.nick;
    if (nick === null) {
      throw new ProtocolError("not_joined", 'Send "hello" with your nick before chatting');
    }
    const served = this.#served.get(nameKey(roomName));
    if (!served || !asker.rooms.has(served.room)) {
      throw new ProtocolError("not_in_room", `You are not in ${roomName}`);
    }
    if (asker.rooms.size === 1) {
      throw new ProtocolError(
        "last_room",
        `${served.room.name} is your only room; /join another first`,
      );
    }
    if (!this.node.link.commands.isReady) throw clusterDown(`you are still in ${served.room.name}`);
    const room = served.room;
    this.remove(asker, room);
    if (asker.room === room) asker.room = [...asker.rooms].at(-1)!;
    this.node.publishLeave(room, this.node.holdings.get(asker)!.holder, nick);
    deliver({ type: "leave", nick, room: room.name }, [asker]);
    if (asker.mode === "line") {
      asker.sendMessage({ type: "notice", text: `you are now in ${asker.room!.name}` });
    }
  }

  /** Takes `member` out of `room` here; the room closes once nobody of this node is in it. */
  remove(member: Member, room: Room): void {
    room.members.delete(member);
    member.rooms.delete(room);
    const served = this.#byRoom.get(room);
    if (served) this.#closeIfEmpty(served);
  }

  #closeIfEmpty(served: Served): void {
    if (served.room.members.size > 0 || served.joining > 0) return;
    if (this.#served.get(served.room.key) !== served) return;
    this.#served.delete(served.room.key);
    served.feed.close();
  }

  /** The room's messages after `afterId` that this node has applied, at most `limit`. */
  async messages(room: Room, afterId: number, limit: number): Promise<ChatMessage[]> {
    const feed = this.feedOf(room);
    const found: ChatMessage[] = [];
    let after = afterId;
    while (found.length < limit && after < feed.lastId) {
      const events = await feed.range(after, feed.lastId, 500);
      if (events.length === 0) break;
      for (const event of events) {
        if (event.t === "msg" && found.length < limit) {
          found.push(asMessage(event, room.name, true));
        }
      }
      after = events.at(-1)!.id;
    }
    return found;
  }

  // The last messages before `beforeId`, for a member who joins: read from the end of the stream.
  async #recent(room: Room, beforeId: number): Promise<ChatMessage[]> {
    const limit = this.node.options.historyLimit;
    const found: RoomEvent[] = [];
    // Read back from the join a page at a time: joins, leaves and renames are not history.
    let through = beforeId - 1;
    for (let read = 0; found.length < limit && through > 0 && read < streamLength(limit);) {
      const events = await this.feedOf(room).last(through, Math.max(50, 2 * limit));
      if (events.length === 0) break;
      found.unshift(...events.filter((event) => event.t === "msg"));
      read += events.length;
      through = events[0].id - 1;
    }
    return found.slice(-limit).map((event) => asMessage(event, room.name, true));
  }

  // One event of the room, in the room's order; a promise only for a join of this node's member.
  #apply(served: Served, event: RoomEvent): void | Promise<void> {
    const { room } = served;
    const member = this.node.byHolder.get(event.m);
    const self = member && room.members.has(member) ? member : null;
    switch (event.t) {
      case "msg": {
        const sender = this.node.byHolder.get(event.m);
        room.broadcast(asMessage(event, room.name), sender && !sender.echo ? sender : null);
        break;
      }
      case "join": {
        const joining = this.#joining.get(`${event.m} ${room.key}`);
        // Not to the member itself, here already if its node joins it again (node.rejoin).
        if (room.members.size < LARGE_ROOM_MEMBERS) {
          room.broadcast({ type: "join", nick: event.n, room: room.name }, self);
        }
        if (joining) {
          this.#joining.delete(`${event.m} ${room.key}`);
          return this.#admit(served, event, joining).finally(joining.done);
        }
        break;
      }
      case "leave":
        // Not to the member itself, still here if its node was swept while taken for dead.
        if (room.members.size < LARGE_ROOM_MEMBERS) {
          room.broadcast({ type: "leave", nick: event.n, room: room.name }, self);
        }
        break;
      case "notice":
        room.broadcast({ type: "notice", text: event.x! }, this.node.byHolder.get(event.m) ?? null);
        if (event.b && this.enforce) return this.enforce(event.b);
        break;
      case "nick": {
        const change = { type: "nick" as const, from: event.n, nick: event.x!, room: room.name };
        for (const member of room.members) {
          const holding = this.node.holdings.get(member);
          if (!holding || holding.lastChange === event.c) continue;
          holding.lastChange = event.c!;
          deliver(change, [member]);
        }
        followAcross(this.node, event.m, event.n, event.x!);
        break;
      }
    }
  }

  // This node's member's join, numbered: its welcome, then its history, then whatever follows.
  async #admit(served: Served, event: RoomEvent, joining: Joining): Promise<void> {
    const { asker, since, welcome } = joining;
    const { room, feed } = served;
    const { members } = await joining.published;
    const holding = this.node.holdings.get(asker);
    if (asker.nick === null || holding?.holder !== event.m) {
      // Gone while it joined: the room hears it leave.
      this.node.publishLeave(room, event.m, event.n);
      return;
    }
    room.members.add(asker);
    asker.rooms.add(room);
    asker.room = room;
    const list = memberList(members);
    asker.sendMessage(
      welcome
        ? { type: "welcome", nick: asker.nick, room: room.name, ...list }
        : { type: "joined", room: room.name, ...list },
    );
    this.node.greeting?.(asker, welcome); // the message of the day, the topic, then history
    const history = since === undefined
      ? await this.#recent(room, event.id).catch(() => [])
      : await this.messages(room, since, MAX_HISTORY_REPLY).then(
        (found) => found.filter((message) => message.id < event.id),
      ).catch(() => []);
    sendHistory(asker, history, since === undefined ? "newest" : "oldest");
    void feed;
  }

  /** After the link comes back: each room reads what its channel lost. */
  catchUp(): void {
    for (const served of this.#served.values()) served.feed.catchUp();
  }

  /**
   * Each room whose last id in Redis is past what its channel brought reads the rest from the
   * stream: events lost on the channel. Not those merely late: a busy node is behind all the time,
   * and reading its late events from the stream skipped those the stream had trimmed already, then
   * dropped them as read when the channel brought them (the benchmark's "stall"). So the ids are
   * compared with what was heard once the subscriber connection has brought everything Redis sent
   * before it was asked (heardAll), and not at all if it did not within a quarter of a lease (a
   * connection that slow is late, and one that is down catches up once it is back). On a Redis
   * Cluster, where that cannot be known, with the last ids of the check before, which had a whole
   * period to arrive.
   */
  async check(): Promise<void> {
    const served = [...this.#served.values()];
    const seqs = await Promise.all(
      served.map((s) => this.node.link.commands.get(roomKeys(s.room.key).seq)),
    );
    const heard = await this.node.link.heardAll(this.node.options.leaseMs / 4);
    served.forEach((s, i) => {
      const seq = Number(seqs[i] ?? 0);
      const due = heard === null ? this.#checked.get(s) ?? 0 : heard ? seq : 0;
      this.#checked.set(s, seq);
      if (due > s.feed.heardId && due > s.feed.lastId) s.feed.catchUp();
    });
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#served.values()].map((served) => served.feed.close()));
    this.#served.clear();
  }
}
