// A server as one node of a cluster (--redis URL): the rooms, nicks and private messages of every
// node, through Redis. Nodes are gateways for their members' sessions; Redis alone numbers and
// orders each room's events (room_feed.ts) and leases nicks (members.ts). A member's input that
// needs Redis is answered once Redis has answered; what cannot reach Redis gets `cluster_down`,
// never a delivery to this node's members alone.
import { Chat, deliver, type Member, type Room } from "../chat.ts";
import { ignoreFromHello, noSuchNick } from "../social_handlers.ts";
import { History } from "../history.ts";
import { type Asker, type ChatService, handle } from "../handlers.ts";
import type { Input } from "../wire.ts";
import {
  type ChatMessage,
  cleanText,
  DEFAULT_ROOM,
  nickProblem,
  ProtocolError,
  roomProblem,
  textProblem,
} from "../../protocol.ts";
import { GUESTS_KEY, RedisLink } from "./redis_link.ts";
import { RoomEvents } from "./room_events.ts";
import { clusterDown, type Holding, leaseKeys, nickTaken, parseLease } from "./members.ts";
import { Upkeep } from "./upkeep.ts";
import { Rooms } from "./rooms.ts";
import { listRooms, who } from "./directory.ts";
import { historyPage } from "./history_page.ts";
import { ClusterAccounts } from "./accounts.ts";
import { announceRename, letGo, listenForRenames } from "./renames.ts";
import { ClusterSocial } from "./social.ts";
import { ClusterGrace } from "./identify_grace.ts";
import { orLate } from "./node_questions.ts";

export interface ClusterOptions {
  /** redis://host:port */
  url: string;
  /** --identify-grace, in ms: see identify_grace.ts. */
  graceMs?: number;
  /** Messages replayed to a member who joins. */
  historyLimit: number;
  /** How long a nick, and the node's own presence, outlive their last renewal. */
  leaseMs: number;
  /** `url` is a node of a Redis Cluster: rooms are spread over its shards (RedisLink). */
  sharded?: boolean;
  log: (line: string) => void;
}

const nickOf = (member: Member) => {
  if (member.nick === null) {
    throw new ProtocolError("not_joined", 'Send "hello" with your nick before chatting');
  }
  return member.nick;
};

const leaveEvent = (holder: string, nick: string) => ({ t: "leave" as const, m: holder, n: nick });

// A nick someone else holds or has registered.
const unavailable = (error: ProtocolError) => /^nick_(taken|registered)$/.test(error.code);

export class ClusterNode implements ChatService {
  readonly id = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  readonly link: RedisLink;
  readonly options: ClusterOptions;
  readonly rooms: Rooms;
  readonly events: RoomEvents;
  /** Registered nicks, kept in Redis: asked before every lease of a nick. */
  readonly accounts: ClusterAccounts;
  /** /away and /whois across nodes. */
  readonly social = new ClusterSocial(this);
  /** --identify-grace for greetings with a registered nick. */
  readonly grace = new ClusterGrace(this);
  /** This node's members by holder id. */
  readonly byHolder = new Map<string, Asker>();
  readonly holdings = new WeakMap<Member, Holding>();
  /** Moderation's bans (Chat.gate's rule): asked before a member enters a room or renames. */
  gate: ((member: Member, nick: string, room: string, arriving?: boolean) => void) | null = null;
  /** Moderation's message of the day and topic (Chat.greeting), called by Rooms before history. */
  greeting: ((member: Member, arrived: boolean) => void) | null = null;
  #upkeep: Upkeep;
  #sessions = 0;
  #gone = new WeakSet<Member>(); // closed: a claim that ends after (a regain, a grace) lets go
  #privateIds = 0;
  #idle = new Chat(new History({ limit: 0, store: null })); // for the inputs no room is part of
  // Leaves that could not be published while Redis was away: published once it is back.
  #unsent: Array<() => Promise<unknown>> = [];
  #sending = new Set<Promise<unknown>>(); // what retrying has under way, for a clean stop

  constructor(options: ClusterOptions) {
    this.options = options;
    this.link = new RedisLink(options.url, options.log, options.sharded);
    this.rooms = new Rooms(this);
    this.events = new RoomEvents(this);
    this.accounts = new ClusterAccounts(this);
    this.#upkeep = new Upkeep(this);
  }

  /** Connects to Redis and starts serving; throws if Redis cannot be reached. */
  async start(): Promise<void> {
    await this.link.connect();
    this.link.onChange((up) => this.#linkChanged(up));
    await this.#upkeep.start();
    await this.accounts.start();
    await listenForRenames(this);
  }

  // Members hear that the cluster is out of reach, and back; the feeds then read what the
  // channels lost from the streams, and what waited to be published goes.
  #linkChanged(up: boolean): void {
    const text = up
      ? "the link to the rest of the chat is back"
      : "this server has lost its link to the rest of the chat; messages cannot be sent until it is back";
    for (const member of this.byHolder.values()) member.sendMessage({ type: "notice", text });
    if (!up) return;
    this.#upkeep.linkBack();
    this.rooms.catchUp();
    this.retryUnsent();
  }

  // What could not be sent, again: once the link is back, and at each tick of the upkeep, since on a
  // Redis Cluster one shard may fail while the link as a whole stays up.
  retryUnsent(): void {
    for (const send of this.#unsent.splice(0)) this.retrying(send);
  }

  /** Runs `send` now, and again once the link is back if it fails; returns the first attempt. */
  retrying<T>(send: () => Promise<T>): Promise<T> {
    const attempt = send();
    const sending = attempt.catch(() => {
      this.#unsent.push(send);
    });
    this.#sending.add(sending);
    sending.finally(() => this.#sending.delete(sending));
    return attempt;
  }

  handle(asker: Asker, input: Input): void | Promise<void> {
    switch (input.type) {
      case "hello":
        return this.accounts.hello(asker, input, () => this.#hello(asker, input));
      case "register":
      case "identify":
      case "login":
      case "passwd":
      case "unregister":
        return this.accounts.handle(asker, input);
      case "msg":
        asker.social.spoke = Date.now(); // for /whois's idle time
        if (input.to !== undefined) return this.#whisper(asker, input.to, input.text, input.action);
        nickOf(asker);
        return this.events.say(
          asker,
          input.room === undefined ? asker.room! : this.rooms.roomOf(asker, input.room),
          input.text,
          input.action,
        );
      case "ping":
        // After what the member said before it is back: see RoomEvents.settled.
        return this.events.settled(asker).then(() => asker.sendMessage({ type: "pong" }));
      case "join":
        if (asker.mode === "legacy") {
          throw new ProtocolError("bad_room", "The classic protocol has one room only");
        }
        this.gate?.(asker, nickOf(asker), input.room);
        return this.rooms.enter(asker, input.room, input.since, false).then(() => {});
      case "part":
        return this.rooms.part(asker, input.room ?? asker.room?.name ?? "");
      case "rooms":
        if (asker.nick === null) {
          throw new ProtocolError("not_joined", 'Send "hello" with your nick before listing rooms');
        }
        return listRooms(this, asker);
      case "who":
        nickOf(asker);
        return who(this, asker, input.room);
      case "history":
        nickOf(asker);
        return historyPage(this, asker, input.room, input.after, input.limit);
      case "nick":
        return this.#rename(asker, input.nick);
      case "whois":
        return this.social.whois(asker, input.nick);
      default:
        return handle(this.#idle, asker, input);
    }
  }

  async #hello(asker: Asker, input: Extract<Input, { type: "hello" }>): Promise<void> {
    const { nick, room = DEFAULT_ROOM, since, echo = false } = input;
    ignoreFromHello(asker, input.ignore); // before the replay on joining, which it filters too
    if (asker.nick !== null) {
      throw new ProtocolError("already_joined", `You are already in as ${asker.nick}`);
    }
    const legacy = asker.mode === "legacy";
    try {
      const problem = nickProblem(nick);
      if (problem) throw new ProtocolError("bad_nick", problem);
      const roomIssue = roomProblem(room);
      if (roomIssue) throw new ProtocolError("bad_room", roomIssue);
      // The classic client cannot choose again: a taken nick gets a number.
      if (legacy) await this.grace.greeting(asker, () => this.#claimVariant(asker, nick));
      else await this.claim(asker, nick);
    } catch (error) {
      if (!legacy || !(error instanceof ProtocolError)) throw error;
      throw new ProtocolError(error.code, error.message, true);
    }
    if (!legacy) asker.echo = echo;
    await this.#enterFirst(asker, room, since);
    this.grace.start(asker);
  }

  // The first room of a member that holds its nick: without it, it holds nothing.
  async #enterFirst(asker: Asker, room: string, since?: number): Promise<number> {
    try {
      this.gate?.(asker, asker.nick!, room, true); // a ban closes a member arriving
      return await this.rooms.enter(asker, room, since, true);
    } catch (error) {
      this.#forget(asker);
      throw error;
    }
  }

  async welcomeGuest(asker: Asker, greeted?: string): Promise<void> {
    let refused: string | null = null;
    let count = 0;
    if (greeted !== undefined) {
      try {
        if (nickProblem(greeted)) throw new ProtocolError("bad_nick", nickProblem(greeted)!);
        await this.grace.greeting(asker, () => this.claim(asker, greeted));
        count = await this.#enterFirst(asker, DEFAULT_ROOM);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        refused = error.message;
      }
    }
    if (asker.nick === null) {
      await this.claimGuest(asker);
      count = await this.#enterFirst(asker, DEFAULT_ROOM);
    }
    if (refused !== null) asker.sendMessage({ type: "notice", text: `not ${greeted}: ${refused}` });
    this.grace.start(asker);
    asker.sendMessage({
      type: "notice",
      text: `${count} here. Type to chat; /nick NAME changes your nick, /help lists commands`,
    });
  }

  /** Leases `nick` to `asker` across the cluster, or throws nick_taken or cluster_down. */
  async claim(asker: Member, nick: string): Promise<void> {
    let holding = this.holdings.get(asker);
    const holder = holding?.holder ?? `${this.id}:${++this.#sessions}`;
    const keys = leaseKeys(nick);
    const value = `${holder} ${nick}`;
    await this.accounts.guard(asker, nick);
    const other = await this.accounts.claim(asker, keys, holder, value).catch(() => {
      throw clusterDown("your nick could not be checked");
    });
    if (other !== "") throw nickTaken(nick, parseLease(other).nick);
    if (this.#gone.has(asker)) {
      this.retrying(() => this.link.release(keys, value));
      throw new ProtocolError("not_joined", "The connection closed while its nick was asked for");
    }
    if (!holding) {
      holding = { holder, value, keys, lastChange: "", former: [] };
      this.holdings.set(asker, holding);
    } else {
      // Keys the old nick had and the new one has not: let go once its rooms have the rename.
      const old = holding.keys.filter((key) => !keys.includes(key));
      if (old.length > 0) holding.former.push({ keys: old, value: holding.value });
      holding.value = value;
      holding.keys = keys;
    }
    asker.nick = nick;
    this.byHolder.set(holder, asker as Asker);
  }

  async #claimVariant(asker: Asker, nick: string): Promise<void> {
    for (let n = 1;; n++) {
      const suffix = n === 1 ? "" : String(n);
      const candidate = [...nick].slice(0, 32 - suffix.length).join("") + suffix;
      try {
        return await this.claim(asker, candidate);
      } catch (error) {
        if (!(error instanceof ProtocolError) || error.code !== "nick_taken" || n > 1000) {
          throw error;
        }
      }
    }
  }

  /** Leases the next free guest nick (guest1, guest2, ... across the cluster) to `asker`. */
  async claimGuest(asker: Member): Promise<void> {
    for (let tries = 0;; tries++) {
      let n: number;
      try {
        n = await this.link.commands.incr(GUESTS_KEY);
      } catch {
        throw clusterDown("you cannot join until it is back");
      }
      try {
        return await this.claim(asker, `guest${n}`);
      } catch (error) {
        // Taken, or registered to someone: the next number.
        if (!(error instanceof ProtocolError) || !unavailable(error) || tries > 1000) throw error;
      }
    }
  }

  // Lets go of a member's nick and record, now or once Redis is back: its leaves of `rooms` first,
  // so that nobody can join a room under the nick before the room heard that it left (its members
  // would see "ann joined, ann left"), then the nick, even if a leave failed (a Redis Cluster shard
  // down must not keep the nick). What failed goes again whole, in that order, once Redis is back:
  // a leave that was in already is dropped by the publish script, and the nick is let go only if
  // this member still holds it.
  #forget(member: Member, rooms: Room[] = []): void {
    const holding = this.holdings.get(member);
    const nick = member.nick;
    member.nick = null;
    if (!holding || nick === null) return;
    const { keys, value, holder } = holding;
    const former = holding.former.splice(0); // a rename's, if it closed before announcing it
    holding.keys = []; // let go of here: a claim after (a hello tried again) is no rename of it
    this.byHolder.delete(holder);
    this.retrying(async () => {
      const leaves = await Promise.allSettled(
        rooms.map((room) => this.events.publish(room, leaveEvent(holder, nick))),
      );
      await this.link.release(keys, value);
      await letGo(this, holding, former);
      const failed = leaves.find((leave) => leave.status === "rejected");
      if (failed) throw failed.reason;
    });
  }

  /** Publishes a leave, now or once Redis is back. */
  publishLeave(room: Room, holder: string, nick: string): void {
    this.retrying(() => this.events.publish(room, leaveEvent(holder, nick)));
  }

  async #whisper(asker: Asker, to: string, text: string, action?: boolean): Promise<void> {
    const from = nickOf(asker);
    const said = cleanText(text);
    const problem = textProblem(said);
    if (problem) throw problem;
    const id = ++this.#privateIds;
    const message: ChatMessage = { type: "msg", id, from, to, text: said, ts: Date.now() };
    if (action) message.action = true;
    const holder = this.holdings.get(asker)!.holder;
    const target = await this.#upkeep.sendPrivate(to, message, holder).catch(() => {
      throw clusterDown();
    });
    if (target === null) throw noSuchNick(to);
    if (asker.echo && target.holder !== holder) asker.sendMessage({ ...message, to: target.nick });
  }

  /** Delivers a private message that came for this node's member `holder` from `sender`. */
  deliverPrivate(holder: string, message: ChatMessage, sender?: string): void {
    const target = this.byHolder.get(holder);
    if (!target) return; // gone meanwhile
    deliver(message, [target]); // or ignored
    this.social.answerAway(target, holder, message, sender);
  }

  async #rename(asker: Asker, newNick: string): Promise<void> {
    const nick = nickOf(asker);
    const problem = nickProblem(newNick);
    if (problem) throw new ProtocolError("bad_nick", problem);
    if (newNick === nick) return;
    for (const room of asker.rooms) this.gate?.(asker, newNick, room.name);
    await this.claim(asker, newNick);
    await this.announceRename(asker, nick, newNick);
  }

  // After this node was taken for dead, its members claim their nicks again (or, if taken
  // meanwhile, become guests, and are told) and join their rooms again; a member still listed in a
  // room is not announced twice (the publish script skips its join).
  async rejoin(): Promise<void> {
    for (const member of [...this.byHolder.values()]) {
      const old = member.nick;
      if (old === null) continue;
      try {
        await this.claim(member, old);
      } catch (error) {
        if (!(error instanceof ProtocolError) || !unavailable(error)) throw error;
        await this.claimGuest(member);
        const text = `your nick ${old} was taken while this server was out of touch`;
        member.sendMessage({ type: "notice", text: `${text}; you are now ${member.nick}` });
        member.sendMessage({
          type: "nick",
          from: old,
          nick: member.nick!,
          room: member.room!.name,
        });
        // Where it was not swept, the room hears the rename; where it was, the join below.
        await this.announceRename(member, old, member.nick!, true);
      }
      const holder = this.holdings.get(member)!.holder;
      for (const room of member.rooms) {
        this.retrying(() => this.events.publish(room, { t: "join", m: holder, n: member.nick! }));
      }
    }
  }

  /** Tells every room of `member` that `nick` is now `newNick`: see renames.ts. */
  announceRename(member: Member, nick: string, newNick: string, told = false): Promise<void> {
    return announceRename(this, member, nick, newNick, told);
  }

  /** Takes a closing member out of every room; the others hear it once Redis has it. */
  leave(member: Member): void {
    this.#gone.add(member);
    if (member.nick === null) return;
    const rooms = [...member.rooms];
    for (const room of rooms) this.rooms.remove(member, room);
    member.room = null;
    this.#forget(member, rooms);
  }

  /** Lets go of Redis once every member has left (the server's shutdown). */
  async close(): Promise<void> {
    // The members' leaves go out before the link is let go (at most a second's wait).
    const sent = Promise.allSettled([...this.#sending]);
    await orLate(sent, 1000);
    await this.#upkeep.stop();
    await this.rooms.closeAll();
    await this.link.close();
  }
}
