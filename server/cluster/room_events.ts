// What a node's members say to their rooms, on its way through Redis (room_publisher.ts), and the
// list of rooms that /rooms and the sweep read. A member's messages are not awaited one by one:
// they go to Redis pipelined, in order, and a refusal comes when Redis (or its absence) answers.
// So a ping, whose pong tells the member that everything before it was taken, is answered only
// once the member's earlier messages are back from Redis and delivered here.
import type { Member, Room } from "../chat.ts";
import type { Asker } from "../handlers.ts";
import { cleanText, type ProtocolError, textProblem } from "../../protocol.ts";
import { roomKeys, ROOMS_KEY } from "./redis_link.ts";
import type { RoomEvent } from "./room_feed.ts";
import { type Published, RoomPublisher } from "./room_publisher.ts";
import { clusterDown, streamLength } from "./members.ts";
import type { ClusterNode } from "./node.ts";

/** A room by its key and its name, served here or not (the sweep's rooms are not). */
type RoomRef = Pick<Room, "key" | "name">;

export class RoomEvents {
  readonly publisher: RoomPublisher;
  // Each member's last message to each room, for its next ping to wait for.
  #said = new WeakMap<Member, Map<Room, Promise<Published>>>();

  constructor(readonly node: ClusterNode) {
    this.publisher = new RoomPublisher(node.link, streamLength(node.options.historyLimit));
  }

  /** Publishes a room event; rejects with cluster_down if Redis cannot be reached. */
  async publish(
    room: RoomRef,
    event: Omit<RoomEvent, "id" | "r">,
    nickAfter = event.n,
  ): Promise<Published> {
    const json = JSON.stringify({ ...event, r: room.name });
    const out = { kind: event.t, holder: event.m, nick: nickAfter, json };
    let listing: Promise<unknown> | undefined;
    // Listed before the join, so that a node dying right after it is still swept from the room.
    if (event.t === "join") listing = this.#list(room);
    let published: Published;
    try {
      published = await this.publisher.publish(room.key, room.name, out);
    } catch {
      throw clusterDown();
    }
    if (event.t === "join" && published.id !== 0) await listing?.then(() => this.#list(room));
    if (published.emptied) this.#unlist(room).catch(() => {});
    return published;
  }

  #list(room: RoomRef): Promise<unknown> {
    return this.node.link.commands.hSetNX(ROOMS_KEY, room.key, room.name).catch(() => {});
  }

  // Takes an emptied room off the list; if someone joined it meanwhile, lists it again. A join
  // lists its room after its join is in, so whichever runs last leaves the list right.
  async #unlist(room: RoomRef): Promise<void> {
    const { commands } = this.node.link;
    await commands.hDel(ROOMS_KEY, room.key);
    const keys = roomKeys(room.key);
    if (await commands.hLen(keys.members) === 0) return;
    const name = await commands.get(keys.name);
    await commands.hSetNX(ROOMS_KEY, room.key, name ?? room.name);
  }

  /** A member's message to `room`: on its way at once, not awaited. */
  say(asker: Asker, room: Room, text: string, action: boolean | undefined): void {
    const said = cleanText(text);
    const problem = textProblem(said);
    if (problem) throw problem;
    const event: Omit<RoomEvent, "id" | "r"> = {
      t: "msg",
      m: this.node.holdings.get(asker)!.holder,
      n: asker.nick!,
      x: said,
      ts: Date.now(),
    };
    if (action) event.a = true;
    const published = this.publish(room, event);
    published.catch((error: ProtocolError) => {
      asker.sendMessage({ type: "error", code: error.code, message: error.message });
    });
    let last = this.#said.get(asker);
    if (!last) this.#said.set(asker, last = new Map());
    last.set(room, published);
  }

  /**
   * Resolves once every message `member` sent before is back from Redis and delivered here (or
   * refused): what a pong promises. Each room's publishes resolve in order, so its last one will do.
   */
  async settled(member: Member): Promise<void> {
    const said = this.#said.get(member);
    if (!said) return;
    this.#said.delete(member);
    await Promise.all([...said].map(async ([room, published]) => {
      const { id } = await published.catch(() => ({ id: 0 }));
      if (id > 0 && member.rooms.has(room)) await this.node.rooms.feedOf(room).reached(id);
    }));
  }
}
