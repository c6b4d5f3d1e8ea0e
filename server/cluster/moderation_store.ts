// The moderation of a cluster, kept in its Redis: the same records as the single server's SQLite
// tables (server/sqlite/moderation.ts), behind the same ModerationStore. Every node keeps them all
// in memory too (Moderation), so that a join or a message is checked without asking Redis: each
// change is written and published on one channel in the same script, every node applies what it
// hears, and a node whose link comes back reads everything again, since pub/sub is at most once
// and a change made while its link was down reached it nowhere else. The keys and the channel share
// one hash tag, so that a change is one script on one shard of a Redis Cluster (where the channel
// is a sharded one); moderation changes rarely, so one shard is plenty.
import {
  type Ban,
  type Moderation,
  type ModerationChange,
  type ModerationState,
  type ModerationStore,
  type RoomRecord,
  StaleRoom,
} from "../moderation.ts";
import { clusterDown } from "./members.ts";
import type { RedisLink } from "./redis_link.ts";

const TAG = "parley:{moderation}";
/** Bans and mutes: field "scope kind mask" (a line each) -> the ban as JSON. */
export const BANS_KEY = `${TAG}:bans`;
/** Claimed rooms and topics: field room key -> the room record as JSON. */
export const ROOMS_KEY = `${TAG}:rooms`;
/** Where each change is published, as JSON (ModerationChange). */
export const CHANGES_CHANNEL = `${TAG}:changes`;

const banField = (scope: string, kind: string, mask: string) => `${scope}\n${kind}\n${mask}`;

// Sets (ARGV[3] given) or deletes a field of KEYS[1], and publishes the change.
// ARGV: PUBLISH or SPUBLISH, the channel, the field, the change as JSON, the value (to set).
const CHANGE = `
if ARGV[5] then redis.call('HSET', KEYS[1], ARGV[3], ARGV[5])
else redis.call('HDEL', KEYS[1], ARGV[3]) end
redis.call(ARGV[1], ARGV[2], ARGV[4])
return ''
`;

// A room's record, if the one kept is still the one it was made from (its JSON, '' for none):
// of two nodes changing one room at once, the second is refused and makes its change again from
// the record it is given (Moderation's StaleRoom). Returns {'ok'} or {'stale', the record kept}.
// KEYS: rooms. ARGV: PUBLISH or SPUBLISH, the channel, the room's key, the change as JSON, the
// record as JSON, the record it was made from as JSON ('' for none).
const PUT_ROOM = `
local old = redis.call('HGET', KEYS[1], ARGV[3])
if (old or '') ~= ARGV[6] then return {'stale', old or ''} end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[5])
redis.call(ARGV[1], ARGV[2], ARGV[4])
return {'ok'}
`;

export class RedisModerationStore implements ModerationStore {
  #moderation: Moderation | null = null;
  #heard: (change: ModerationChange) => void = () => {};
  // Changes heard while everything is read again: applied after it, not under it.
  #held: ModerationChange[] | null = null;
  #reading: Promise<void> = Promise.resolve();

  constructor(readonly link: RedisLink, readonly log: (line: string) => void) {}

  async load(): Promise<ModerationState> {
    const [bans, rooms] = await reach(
      Promise.all([this.link.commands.hGetAll(BANS_KEY), this.link.commands.hGetAll(ROOMS_KEY)]),
    );
    return {
      bans: Object.values(bans).map((json) => JSON.parse(json) as Ban),
      rooms: Object.values(rooms).map((json) => JSON.parse(json) as RoomRecord),
    };
  }

  /** The ban or mute of `mask` in `scope` as Redis has it now, if any. */
  async ban(scope: string, kind: Ban["kind"], mask: string): Promise<Ban | null> {
    const json = await reach(this.link.commands.hGet(BANS_KEY, banField(scope, kind, mask)));
    return json ? JSON.parse(json) as Ban : null;
  }

  async putBan(ban: Ban): Promise<void> {
    const field = banField(ban.scope, ban.kind, ban.mask);
    await this.#change(field, { kind: "ban", ban }, JSON.stringify(ban));
  }

  async dropBan(scope: string, kind: Ban["kind"], mask: string): Promise<void> {
    await this.#change(banField(scope, kind, mask), { kind: "unban", scope, ban: kind, mask });
  }

  // Every record is kept as JSON.stringify made it, and read with JSON.parse, which keeps the
  // order of its fields: the JSON of `previous` is what Redis has if nobody changed it since.
  async putRoom(room: RoomRecord, previous: RoomRecord | null): Promise<void> {
    const change = JSON.stringify({ kind: "room", room });
    const args = [room.key, change, JSON.stringify(room), previous ? JSON.stringify(previous) : ""];
    const [answer, kept] = await reach(
      this.link.run(PUT_ROOM, [ROOMS_KEY], [this.link.publishCommand, CHANGES_CHANNEL, ...args]),
    ) as [string, string?];
    if (String(answer) === "stale") {
      throw new StaleRoom(kept ? JSON.parse(String(kept)) as RoomRecord : null);
    }
  }

  // A ban put or dropped (a room's record goes by PUT_ROOM).
  async #change(field: string, change: ModerationChange, value?: string): Promise<void> {
    const args = [this.link.publishCommand, CHANGES_CHANNEL, field, JSON.stringify(change)];
    await reach(this.link.run(CHANGE, [BANS_KEY], value === undefined ? args : [...args, value]));
  }

  /**
   * Applies to `moderation` every change any node makes from now on, then calls `heard` with it
   * (a ban is enforced on this node's members); reads everything again each time the link comes
   * back, and tells `heard` so (a "reset").
   */
  async follow(moderation: Moderation, heard: (change: ModerationChange) => void): Promise<void> {
    this.#moderation = moderation;
    this.#heard = heard;
    await this.link.subscribeJson<ModerationChange>(
      CHANGES_CHANNEL,
      "a moderation change",
      (change) => {
        if (this.#held) this.#held.push(change);
        else this.#apply(change);
      },
    );
    await this.#reload();
    this.link.onChange((up) => {
      if (!up) return;
      this.#reload().catch((error) => this.log(`redis: moderation could not be read: ${error}`));
    });
  }

  // One reading at a time: a link that flaps while one is under way reads again after it, so that
  // an older reading never lands on changes heard after a newer one.
  #reload(): Promise<void> {
    const reading = this.#reading.then(() => this.#readAll());
    this.#reading = reading.catch(() => {});
    return reading;
  }

  async #readAll(): Promise<void> {
    this.#held = [];
    try {
      this.#apply({ kind: "reset", state: await this.load() });
    } finally {
      const held = this.#held;
      this.#held = null;
      for (const change of held) this.#apply(change);
    }
  }

  #apply(change: ModerationChange): void {
    this.#moderation!.heard(change);
    this.#heard(change);
  }

  close(): void {}
}

// What Redis answers, or cluster_down.
async function reach<T>(asking: Promise<T>): Promise<T> {
  try {
    return await asking;
  } catch {
    throw clusterDown("moderation could not be reached");
  }
}
