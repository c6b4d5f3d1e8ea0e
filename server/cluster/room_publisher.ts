// How a node's room events reach Redis: in batches, one publish script call per batch, with at
// most MAX_FLYING batches of a room in flight. A quiet room's event goes at the end of the turn of
// the event loop that made it; what a busy room's members say while its batches are on their way
// gathers into the next one. So a busy room costs Redis one script call, and each node one channel
// message to read, per batch rather than per event: each of those is a round trip, system calls
// and wake-ups on every side, which cost more than the work per event (batching them took the
// cluster from 0.26 of one node's deliveries a second to about 0.6 on the benchmark). A room's
// events reach Redis in the order they were given (one connection, batches in order), and Redis
// operations stay O(1) per event: a counter, a stream entry and a line of the channel message.
import type { RedisLink } from "./redis_link.ts";
import { roomKeys } from "./redis_link.ts";

/** What the publish script made of one event. */
export interface Published {
  /** Its id in the room; 0 if it was dropped (see PUBLISH). */
  id: number;
  epoch: string;
  /** A join's: the room's nicks once it is in. */
  members: string[];
  /** A leave's: whether it left the room empty. */
  emptied: boolean;
}

/** One event to publish, as its room's stream and channel will carry it. */
export interface Outgoing {
  kind: "msg" | "join" | "leave" | "nick" | "notice";
  holder: string;
  /** The nick the member has once the event is in (a nick event's new one). */
  nick: string;
  json: string;
}

/** Events per script call at most: bounds how long one call keeps Redis busy. */
const MAX_BATCH = 200;

/**
 * Takes each event's next id in the room, appends it to the room's stream, and publishes the
 * whole batch as one channel message (the epoch, then a line "id JSON" per event: JSON has no raw
 * newline), all at once: every node sees the room's events in the stream's order and can fetch
 * from the stream what the channel lost. A join or leave also changes the room's member list in
 * the same step, so /who agrees with the order of the notices. A leave for someone not in the room
 * (swept already), or a join for someone in it (a node taken for dead, joining its members again),
 * or a rename of someone not in it (swept), is dropped (id 0). The room keeps the name it was first given while anyone is in it.
 * KEYS: seq, epoch, log, members, name. ARGV: a new epoch in case the room has none, stream length,
 * channel, room name, PUBLISH or SPUBLISH (on a Redis Cluster: the channel shares the keys' hash
 * tag), and the events, a line each: kind, holder, nick (none has a space) and JSON.
 * The events go as one argument, not four each: a batch is then cheap to encode and to read.
 * Returns the epoch, the ids ("id id ...", a leave that left the room empty as -id) and, for each
 * join that was not dropped, the room's nicks once it is in.
 */
const PUBLISH = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
local lines = {}
local ids = {}
local joined = {}
for kind, holder, nick, event in string.gmatch(ARGV[6], '(%S+) (%S+) (%S+) ([^\\n]*)') do
  local dropped = false
  local emptied = false
  if kind == 'leave' then
    if redis.call('HDEL', KEYS[4], holder) == 0 then
      dropped = true
    elseif redis.call('HLEN', KEYS[4]) == 0 then
      emptied = true
      redis.call('DEL', KEYS[5])
    end
  elseif kind == 'join' then
    if redis.call('HSETNX', KEYS[4], holder, nick) == 0 then
      dropped = true
    else
      redis.call('SETNX', KEYS[5], ARGV[4])
    end
  elseif kind == 'nick' then
    if redis.call('HEXISTS', KEYS[4], holder) == 1 then
      redis.call('HSET', KEYS[4], holder, nick)
    else
      dropped = true
    end
  end
  if dropped then
    ids[#ids + 1] = '0'
  else
    local id = redis.call('INCR', KEYS[1])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], id .. '-0', 'e', event)
    lines[#lines + 1] = id .. ' ' .. event
    ids[#ids + 1] = emptied and ('-' .. id) or tostring(id)
    if kind == 'join' then joined[#joined + 1] = redis.call('HVALS', KEYS[4]) end
  end
end
if #lines > 0 then
  redis.call(ARGV[5], ARGV[3], epoch .. '\\n' .. table.concat(lines, '\\n'))
end
return {epoch, table.concat(ids, ' '), joined}
`;

/** The events of one channel message: its epoch, and each event's id and JSON. */
export function splitBatch(raw: string): { epoch: string; lines: string[] } {
  const lines = raw.split("\n");
  return { epoch: lines[0], lines: lines.slice(1) };
}

interface Waiting {
  out: Outgoing;
  done: PromiseWithResolvers<Published>;
}

// One room's events waiting to go, and how many batches of it are in flight.
interface RoomQueue {
  name: string;
  waiting: Waiting[];
  flying: number;
  scheduled: boolean;
}

/**
 * Batches of one room in flight at once: the next may go while Redis runs the ones before (on one
 * connection, so in order), and past this many what comes meanwhile gathers into the next. The
 * closed-loop benchmark's members wait for their messages to come back, so a room's throughput there
 * is bound by the time a message takes: measured with 1, 2, 4, 8, 16 and 32 in flight, 8 took the
 * least within the machine's noise, and more gained nothing.
 */
const MAX_FLYING = 8;

export class RoomPublisher {
  #rooms = new Map<string, RoomQueue>(); // by room key, while it has events waiting or in flight

  constructor(readonly link: RedisLink, readonly streamLength: number) {}

  /** Publishes one event to the room `roomKey`; rejects if Redis cannot be reached. */
  publish(roomKey: string, roomName: string, out: Outgoing): Promise<Published> {
    let queue = this.#rooms.get(roomKey);
    if (!queue) {
      queue = { name: roomName, waiting: [], flying: 0, scheduled: false };
      this.#rooms.set(roomKey, queue);
    }
    const done = Promise.withResolvers<Published>();
    queue.waiting.push({ out, done });
    if (!queue.scheduled && queue.flying < MAX_FLYING) {
      queue.scheduled = true;
      // Whatever else this turn of the event loop gives the room goes in the same batch.
      setImmediate(() => {
        queue.scheduled = false;
        this.#send(roomKey, queue);
      });
    }
    return done.promise;
  }

  async #send(roomKey: string, queue: RoomQueue): Promise<void> {
    const k = roomKeys(roomKey);
    const batch = queue.waiting.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    queue.flying++;
    let lines = "";
    for (const { out } of batch) {
      lines += `${out.kind} ${out.holder} ${out.nick} ${out.json}\n`;
    }
    const args = [
      crypto.randomUUID().slice(0, 8),
      String(this.streamLength),
      k.channel,
      queue.name,
    ];
    try {
      const [epoch, ids, joined] = await this.link.run(
        PUBLISH,
        [k.seq, k.epoch, k.log, k.members, k.name],
        [...args, this.link.publishCommand, lines],
      ) as [string, string, string[][]];
      const numbers = String(ids).split(" ");
      let joins = 0;
      batch.forEach(({ out, done }, i) => {
        const id = Number(numbers[i]);
        const members = out.kind === "join" && id > 0 ? joined[joins++].map(String) : [];
        done.resolve({ id: Math.abs(id), epoch: String(epoch), members, emptied: id < 0 });
      });
    } catch (error) {
      for (const { done } of batch) done.reject(error);
    }
    queue.flying--;
    if (queue.waiting.length > 0) {
      if (!queue.scheduled) this.#send(roomKey, queue);
    } else if (queue.flying === 0 && !queue.scheduled) {
      this.#rooms.delete(roomKey);
    }
  }
}
