// A node's two connections to Redis (one for commands, one for subscriptions), the names of the
// keys the cluster shares, and the Lua scripts that make each change to them atomic. Redis is the
// one authority for every room's order and ids and for nicks: nodes only ask it.
import { createClient, createCluster } from "redis";
import { orLate } from "./node_questions.ts";

type Client = ReturnType<typeof createClient>;
type Cluster = ReturnType<typeof createCluster>;
type Listener = (message: string) => void;

/**
 * The keys of one room. The braces are Redis Cluster's hash tag: every key of a room lives on one
 * shard, so that the publish script, which touches them all, may run there.
 */
export function roomKeys(roomKey: string) {
  const tag = `parley:{room:${roomKey}}`;
  return {
    seq: `${tag}:seq`,
    epoch: `${tag}:epoch`,
    log: `${tag}:log`,
    members: `${tag}:members`,
    /** The room's name as first given, while anyone is in it. */
    name: `${tag}:name`,
    channel: `${tag}:events`,
  };
}

/**
 * Every room with someone in it: room key -> room name, for /rooms and the sweep. Kept by the nodes
 * beside each room's own keys (a room's join or leave cannot touch it in the same step where rooms
 * are spread over Redis Cluster shards): see Rooms.listed.
 */
export const ROOMS_KEY = "parley:rooms";
/** Every node that has ever said it is alive and not yet been swept. */
export const NODES_KEY = "parley:nodes";
/**
 * Nick leases and node presence share one hash tag, so that the claim script, which reads both, runs
 * on one shard of a Redis Cluster. Claims are rare (a member's hello or /nick), so one shard is
 * plenty; the hot keys, each room's, are spread by their own tags.
 */
const NICKS_TAG = "parley:{nicks}";
/**
 * The lease on a nick (one for each key a nick is told apart by): holder id, a space, the nick.
 * It has no expiry of its own: it holds while its holder's node is present (nodeAliveKey), so a
 * node renews all its members' nicks at once by renewing its presence.
 */
export const nickLeaseKey = (key: string) => `${NICKS_TAG}:nick:${key}`;
/** Present while the node is alive: renewed every third of a lease, gone when it is not. */
export const nodeAliveKey = (node: string) => `${NICKS_TAG}:node:${node}:alive`;
/** A node's members: holder id -> {nick, rooms}, for the sweep after the node dies. */
export const nodeMembersKey = (node: string) => `parley:node:${node}:members`;
/** Private messages to the members of one node. */
export const nodeChannel = (node: string) => `parley:node:${node}:private`;
/** Taken by the node that sweeps a dead one, so that only one does. */
export const sweepKey = (node: string) => `parley:node:${node}:sweep`;
/** Numbers guest nicks across the cluster. */
export const GUESTS_KEY = "parley:guests";

/**
 * Leases every key of a nick to one holder, or none: returns '' when they are now the holder's, or
 * the value of the first key another holder leases. A key whose holder's node is no longer present
 * (nodeAliveKey) is free: that node is dead, or was taken for dead. KEYS: the nick's lease keys.
 * ARGV: holder id, value, the prefix and suffix of a node's presence key.
 */
const CLAIM = `
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value and string.sub(value, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' then
    local holder = string.match(value, '^(%S+)')
    local node = string.match(holder, '^(.*):[^:]*$')
    if redis.call('EXISTS', ARGV[3] .. node .. ARGV[4]) == 1 then return value end
  end
end
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[2]) end
return ''
`;

/** Deletes the keys the holder still holds, and no other. KEYS: lease keys. ARGV: value. */
const RELEASE = `
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
`;

export type LinkListener = (up: boolean) => void;

export class RedisLink {
  readonly commands: Client;
  readonly subscriber: Client;
  #up = false;
  #listeners: LinkListener[] = [];
  #scripts = new Map<string, string>(); // source -> sha
  #closed = false;
  #started = false; // the first connection is not news

  /**
   * With `sharded`, `url` is one node of a Redis Cluster (7 or later): each command goes to the
   * shard that holds its key, and the rooms' channels are sharded ones (SSUBSCRIBE, SPUBLISH),
   * which Redis sends only to the subscribers of the shard that owns the room, where a classic
   * PUBLISH is copied to every node of the cluster.
   */
  constructor(url: string, readonly log: (line: string) => void, readonly sharded = false) {
    // Commands fail at once while Redis is away instead of waiting to run twice: a member whose
    // message cannot be published is told so (cluster_down), never served from this node alone.
    const options = {
      disableOfflineQueue: true,
      // At start a failure is final (the server says why and exits); later it is retried, at most
      // a second apart, for as long as it takes.
      socket: {
        reconnectStrategy: (retries: number, cause: Error) =>
          this.#started ? Math.min(50 * 2 ** retries, 1000) : cause,
      },
    };
    // The cluster client has the keyed commands of a single connection, under the same names:
    // the rest of the node uses either alike; what differs (scripts, pub/sub) is done here.
    const connect = (): Client => {
      if (!sharded) return createClient({ url, ...options });
      return createCluster({ rootNodes: [{ url }], defaults: options }) as unknown as Client;
    };
    this.commands = connect();
    this.subscriber = connect();
    const events = ["error", "end", "reconnecting", "ready"];
    // A cluster's own connections, one to each shard, tell theirs under other names.
    if (sharded) events.push("node-error", "node-reconnecting", "node-ready", "disconnect");
    for (const client of [this.commands, this.subscriber]) {
      for (const event of events) client.on(event, () => this.#changed());
    }
  }

  /** What the publish script calls to publish a room's events. */
  get publishCommand(): "PUBLISH" | "SPUBLISH" {
    return this.sharded ? "SPUBLISH" : "PUBLISH";
  }

  /** Calls `listener` with each message published to `channel` (a sharded one on a cluster). */
  subscribe(channel: string, listener: Listener): Promise<unknown> {
    return this.sharded
      ? this.subscriber.sSubscribe(channel, listener)
      : this.subscriber.subscribe(channel, listener);
  }

  /**
   * Subscribes `listener` to the JSON messages of `channel`. One that is not JSON, or that the
   * listener throws on, is not what a node sends: it is logged as `what`, never thrown into the
   * subscriber.
   */
  subscribeJson<T>(
    channel: string,
    what: string,
    listener: (message: T) => void,
  ): Promise<unknown> {
    return this.subscribe(channel, (raw) => {
      try {
        listener(JSON.parse(raw) as T);
      } catch (error) {
        this.log(`redis: ${what} could not be read: ${error}`);
      }
    });
  }

  unsubscribe(channel: string, listener: Listener): Promise<unknown> {
    return this.sharded
      ? this.subscriber.sUnsubscribe(channel, listener)
      : this.subscriber.unsubscribe(channel, listener);
  }

  /** Publishes `message` to `channel`; resolves to how many subscribers had it. */
  publish(channel: string, message: string): Promise<number> {
    return this.sharded
      ? this.commands.sPublish(channel, message)
      : this.commands.publish(channel, message);
  }

  /**
   * Resolves to true once every channel message Redis sent this node before now has been heard
   * (handed to its listener): Redis answers a PING on the subscriber connection after the messages
   * it pushed there before it, in order. False if no answer came within `ms` (the connection is
   * slow, or down); null on a Redis Cluster, where each shard's channels come on a connection of
   * their own, so that one PING says nothing.
   */
  async heardAll(ms: number): Promise<boolean | null> {
    if (this.sharded) return null;
    if (!this.subscriber.isReady) return false;
    return await orLate(this.subscriber.ping().then(() => true, () => false), ms) === true;
  }

  /** Connects both clients; throws if Redis cannot be reached at start. */
  async connect(): Promise<void> {
    await Promise.all([this.commands.connect(), this.subscriber.connect()]);
    // Loaded before anyone comes, so that a nick is free one round trip after its holder's leaves
    // are published, not two (the first release of a node would load its script first).
    for (const source of [CLAIM, RELEASE]) await this.#load(nickLeaseKey(""), source);
    this.#up = true;
    this.#started = true;
  }

  /** Whether both connections are ready. */
  get up(): boolean {
    return this.#up;
  }

  /** Calls `listener` each time the link goes down or comes back. */
  onChange(listener: LinkListener): void {
    this.#listeners.push(listener);
  }

  #changed(): void {
    if (this.#closed || !this.#started) return;
    const up = this.commands.isReady && this.subscriber.isReady;
    if (up === this.#up) return;
    this.#up = up;
    this.log(up ? "redis: link is back" : "redis: link is down");
    for (const listener of this.#listeners) listener(up);
  }

  /** Runs a Lua script by its SHA, loading it first if Redis does not have it (yet, or again). */
  async run(source: string, keys: string[], args: string[]): Promise<unknown> {
    const sha = this.#scripts.get(source);
    if (sha !== undefined) {
      try {
        return await this.#send(keys[0], ["EVALSHA", sha, String(keys.length), ...keys, ...args]);
      } catch (error) {
        if (!String(error).includes("NOSCRIPT")) throw error; // Redis restarted: load it again
      }
    }
    const loaded = await this.#load(keys[0], source);
    return this.#send(keys[0], ["EVALSHA", loaded, String(keys.length), ...keys, ...args]);
  }

  // Loads `source` on the shard of `key` (all of Redis, without shards); resolves to its SHA.
  async #load(key: string, source: string): Promise<string> {
    const loaded = String(await this.#send(key, ["SCRIPT", "LOAD", source]));
    this.#scripts.set(source, loaded);
    return loaded;
  }

  // A raw command; on a cluster, to the shard of `key` (a script's keys share one).
  #send(key: string, args: string[]): Promise<unknown> {
    if (!this.sharded) return this.commands.sendCommand(args);
    return (this.commands as unknown as Cluster).sendCommand(key, false, args);
  }

  /** '' if `holder` now leases every key, else the value of a key another holder leases. */
  async claim(keys: string[], holder: string, value: string): Promise<string> {
    const [prefix, suffix] = nodeAliveKey("\n").split("\n");
    return String(await this.run(CLAIM, keys, [holder, value, prefix, suffix]));
  }

  async release(keys: string[], value: string): Promise<void> {
    await this.run(RELEASE, keys, [value]);
  }

  /** Closes both connections; nothing is called after. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([this.commands.close(), this.subscriber.close()]);
  }
}
