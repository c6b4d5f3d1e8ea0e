// What each input does, once it is decoded, let through by flood control, and known to come from
// a member still served: hello, msg, join, part, who, history, nick, help, quit and the rest. A
// handler answers the member, acts on the chat, or throws a ProtocolError for the session to
// answer (and to close on, when it is fatal).
import type { Chat, Member } from "./chat.ts";
import type { FloodLimits } from "./flood_gate.ts";
import type { Input } from "./wire.ts";
import type { Mode } from "../protocol/mode.ts";
import { LINE_HELP } from "../protocol/typed_lines.ts";
import { nameKey, ProtocolError, type ServerMessage } from "../protocol.ts";
import type { Accounts } from "./accounts.ts";
import { checkHello, freeGuestNick, guardNick, handleAccount } from "./account_handlers.ts";
import type { Social } from "./social.ts";
import { answerAway, handleSocial, ignoreFromHello } from "./social_handlers.ts";
import type { Transport } from "../runtime.ts";
import { graceFor, startGrace } from "./identify_grace.ts";

/** The most messages one `history` request returns: what one request may cost the server at once. */
export const MAX_HISTORY_PAGE = 200;
/**
 * History is priced by its work, through the member's flood control: each this many messages
 * looked up count as one more input (on top of the request's own), so that asking for history
 * costs about what it costs the server (some microseconds a message, read, copied and encoded).
 */
export const HISTORY_MESSAGES_PER_INPUT = 20;

/** A session as its handlers see it: a member that can be answered and closed. */
export interface Asker extends Member {
  echo: boolean;
  /** The registered nick this member proved the password of, if any (account_handlers.ts). */
  account: string | null;
  /** Where it connects from, "host:port". */
  readonly address: string;
  readonly mode: Mode | null;
  readonly transport: Transport;
  /** Its away message and whom it ignores; since when it is connected, idle since when. */
  readonly social: Social;
  /** The member's flood control, told to native clients in their welcome so they can pace. */
  readonly flood: FloodLimits;
  /** The send queue's cap: what history sent at once must leave room in. */
  readonly sendQueueBytes: number;
  sendMessage(message: ServerMessage): void;
  /** Charges `inputs` more against the member's flood control, for work done for it. */
  charge(inputs: number): void;
  /** Says `message` last, then closes. */
  closeWith(message: ServerMessage, reason: string): void;
}

/**
 * What a session asks of the chat it serves. The local one acts on this process's Chat at once; a
 * node of a cluster (server/cluster/) may answer later, with a promise: the session then acts on
 * nothing more of the member's input until it settles, so that a member's inputs keep their order.
 */
export interface ChatService {
  /** Acts on `input`; throws (or rejects with) ProtocolError for what it cannot do. */
  handle(asker: Asker, input: Input): void | Promise<void>;
  /** Lets a person at nc, or a client that greeted with a name, in: see welcomeGuest. */
  welcomeGuest(asker: Asker, greeted?: string): void | Promise<void>;
  /** Takes a closing member out of every room; harmless for one that never joined. */
  leave(member: Member): void;
}

/** The service of a single server: this process's Chat, and its accounts if it keeps any. */
export function localService(chat: Chat, accounts: Accounts | null = null): ChatService {
  return {
    handle: (asker, input) => handle(chat, asker, input, accounts),
    welcomeGuest: (asker, greeted) => welcomeGuest(chat, asker, greeted, accounts),
    leave: (member) => chat.leave(member),
  };
}

/**
 * Acts on `input` from `asker`; throws ProtocolError for what it cannot do. What needs a password
 * checked answers later, with a promise.
 */
export function handle(
  chat: Chat,
  asker: Asker,
  input: Input,
  accounts: Accounts | null = null,
): void | Promise<void> {
  switch (input.type) {
    case "hello":
      ignoreFromHello(asker, input.ignore);
      // Accounts are asked first (a promise); without them the member is in at once.
      if (!accounts || asker.nick !== null) return hello(chat, asker, input);
      return helloChecked(chat, accounts, asker, input);
    case "register":
    case "identify":
    case "login":
    case "passwd":
    case "unregister":
      return handleAccount(
        (a, nick) => chat.rename(a, nick),
        accounts,
        asker,
        input,
        (a) => chat.admit(a),
      );
    case "away":
    case "whois":
    case "ignore":
    case "unignore":
      return handleSocial(chat, asker, input);
    case "msg":
      if (input.to !== undefined) {
        chat.whisper(asker, input.to, input.text, Date.now(), input.action);
        answerAway(chat, asker, input.to);
        asker.social.spoke = Date.now();
      } else {
        const utf8 = "textUtf8" in input ? input.textUtf8 : undefined;
        chat.say(asker, input.text, Date.now(), input.action, input.room, utf8);
        asker.social.spoke = Date.now();
      }
      break;
    case "join":
      if (asker.mode === "legacy") {
        throw new ProtocolError("bad_room", "The classic protocol has one room only");
      }
      {
        // Switching to a room the member is in already replays nothing it has seen, unless it
        // asks with `since`.
        const switching = [...asker.rooms].some((r) => nameKey(r.name) === nameKey(input.room));
        const joined = chat.enter(asker, input.room);
        // A person switching back to a room hears where they are now, not that they joined again.
        if (switching && asker.mode === "line") {
          asker.sendMessage({ type: "notice", text: `you are now in ${asker.room!.name}` });
        } else {
          asker.sendMessage(joined);
        }
        if (!switching) chat.greeting?.(asker, false);
        if (!switching || input.since !== undefined) {
          replay(chat, asker, asker.room!.name, sinceInThisEpoch(chat, asker, input.since));
        }
        break;
      }
    case "part":
      chat.part(asker, input.room ?? asker.room?.name ?? "");
      if (asker.mode === "line") {
        asker.sendMessage({ type: "notice", text: `you are now in ${asker.room!.name}` });
      }
      break;
    case "rooms":
      // Which rooms exist, and how full, is for members: a connection that never joins learns
      // nothing from the server.
      if (asker.nick === null) {
        throw new ProtocolError("not_joined", 'Send "hello" with your nick before listing rooms');
      }
      asker.sendMessage(chat.rooms());
      break;
    case "who":
      asker.sendMessage(chat.who(asker, input.room));
      break;
    case "history": {
      const limit = Math.min(input.limit ?? MAX_HISTORY_PAGE, MAX_HISTORY_PAGE);
      // One more than asked for, to tell whether more is left.
      const { room, missed } = chat.history(asker, input.room, input.after, limit + 1);
      tellGap(chat, asker, room, input.after);
      const page = missed.slice(0, limit);
      const more = sendHistory(asker, page, "oldest") < missed.length;
      asker.sendMessage(more ? { type: "history_end", room, more } : { type: "history_end", room });
      break;
    }
    case "nick":
      if (!accounts) return chat.rename(asker, input.nick);
      return guardNick(accounts, asker, input.nick).then(() => chat.rename(asker, input.nick));
    case "help":
      for (const text of LINE_HELP) asker.sendMessage({ type: "notice", text });
      break;
    case "quit":
      asker.closeWith({ type: "notice", text: "bye" }, "quit");
      break;
    case "ping":
      asker.sendMessage({ type: "pong" });
      break;
    case "pong":
      break;
  }
}

/**
 * A person at nc or telnet is in at once, as a guest, and told how to go on, then hears what the
 * room said last. A client that greeted with a name is in under that name, or, if it is not a nick
 * or is taken, as a guest told why.
 */
export function welcomeGuest(
  chat: Chat,
  asker: Asker,
  greeted?: string,
  accounts: Accounts | null = null,
): void | Promise<void> {
  if (!accounts) {
    const refused = greeted === undefined ? null : joinGreeted(chat, asker, greeted);
    if (asker.nick === null) asker.sendMessage(chat.join(asker, chat.guestNick()));
    return welcomed(chat, asker, greeted, refused);
  }
  // With accounts, a registered greeting is held for a grace (identify_grace.ts) or refused, and
  // the guest nick is one nobody registered.
  return (async () => {
    let refused: string | null = null;
    let grace = false;
    if (greeted !== undefined) {
      try {
        grace = await graceFor(accounts, asker, greeted);
        if (!grace) await guardNick(accounts, asker, greeted);
        refused = joinGreeted(chat, asker, greeted);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        refused = error.message;
      }
    }
    if (asker.nick === null) {
      asker.sendMessage(chat.join(asker, await freeGuestNick(chat, accounts)));
    }
    welcomed(chat, asker, greeted, refused, grace ? accounts : null);
  })();
}

// Joins `asker` as `greeted`; returns why it could not, or null.
function joinGreeted(chat: Chat, asker: Asker, greeted: string): string | null {
  try {
    asker.sendMessage(chat.join(asker, greeted));
    return null;
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return error.message;
  }
}

// The rest of welcomeGuest, once the member is in: why not as `greeted`, its grace if it has one
// (the accounts that gave it), how to go on, history.
function welcomed(
  chat: Chat,
  asker: Asker,
  greeted: string | undefined,
  refused: string | null,
  grace: Accounts | null = null,
) {
  if (refused !== null) asker.sendMessage({ type: "notice", text: `not ${greeted}: ${refused}` });
  if (grace && asker.nick === greeted) startGrace(chat, asker, grace);
  const count = asker.room!.members.size;
  asker.sendMessage({
    type: "notice",
    text: `${count} here. Type to chat; /nick NAME changes your nick, /help lists commands`,
  });
  chat.greeting?.(asker, true);
  replay(chat, asker, asker.room!.name);
}

// A first hello to a server with accounts. Its password, if any, is checked, and its nick is the
// member's, or refused (checkHello); the classic client, which cannot give a password in its
// greeting, may keep a registered nick for a grace instead (identify_grace.ts). It is the nick
// the classic client will have (a number added if taken) that is checked.
async function helloChecked(
  chat: Chat,
  accounts: Accounts,
  asker: Asker,
  input: Extract<Input, { type: "hello" }>,
): Promise<void> {
  if (asker.mode !== "legacy") {
    return checkHello(accounts, asker, input.nick, input.password, () => hello(chat, asker, input));
  }
  let variant: string;
  let grace: boolean;
  try {
    variant = chat.freeVariant(input.nick);
    grace = await graceFor(accounts, asker, variant);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    throw new ProtocolError(error.code, error.message, true);
  }
  if (grace) return hello(chat, asker, input, variant, accounts);
  await checkHello(accounts, asker, variant, undefined, () => hello(chat, asker, input, variant));
}

// A hello the accounts (if any) have let through: helloChecked. The classic client joins as
// `variant` if one was checked, and `grace` starts its grace.
function hello(
  chat: Chat,
  asker: Asker,
  input: Extract<Input, { type: "hello" }>,
  variant?: string,
  grace: Accounts | null = null,
): void {
  const { nick, room, echo = false } = input;
  if (asker.mode === "legacy" && asker.nick === null) {
    // The classic client cannot choose again: a taken nick gets a number, a bad one (or one
    // registered, which it has no way to prove: helloChecked) a close.
    try {
      asker.sendMessage(chat.join(asker, variant ?? chat.freeVariant(nick), room));
      if (grace) startGrace(chat, asker, grace);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      throw new ProtocolError(error.code, error.message, true);
    }
  } else {
    const welcome = chat.join(asker, nick, room);
    const { ratePerSecond: rate, burst } = asker.flood;
    asker.sendMessage(rate > 0 ? { ...welcome, rate, burst } as ServerMessage : welcome);
    asker.echo = echo;
  }
  chat.greeting?.(asker, true);
  replay(chat, asker, asker.room!.name, sinceInThisEpoch(chat, asker, input.since, input.epoch));
}

// A `since` from another epoch (a server life before a restart without --data), or beyond
// anything the room has said, counts ids of another sequence: the member missed everything the
// room remembers, and is sent all of it.
function sinceInThisEpoch(
  chat: Chat,
  asker: Asker,
  since: number | undefined,
  epoch?: string,
): number | undefined {
  if (since === undefined) return undefined;
  const otherEpoch = epoch !== undefined && epoch !== chat.epoch;
  return otherEpoch || since > asker.room!.lastId ? 0 : since;
}

// Before history that begins later than the member asked, how much of it is gone.
function tellGap(chat: Chat, asker: Asker, room: string, since: number): void {
  const missed = chat.missing(room, since);
  if (missed > 0) asker.sendMessage({ type: "history_gap", room, missed });
}

// The room's remembered messages, straight after the answer to a join and before anything live:
// all in one turn of the event loop, so nothing is missed or doubled at the boundary. The newest
// ones when the member asks for none in particular; those after `since` when it does.
function replay(chat: Chat, asker: Asker, room: string, since?: number): void {
  if (since !== undefined) tellGap(chat, asker, room, since);
  sendHistory(asker, chat.replay(room, since), since === undefined ? "newest" : "oldest");
}

// History goes out only as far as it fits in half the send queue, so that a member who joins a
// busy room is not closed as a slow reader before it has read anything. Whoever wants more asks
// again after the last id it got. The member pays for the messages looked up. Returns how many of
// `messages` were dealt with (sent, or with no form in the member's mode).
export function sendHistory(
  asker: Asker,
  messages: ServerMessage[],
  keep: "newest" | "oldest",
): number {
  if (messages.length > 0) asker.charge(messages.length / HISTORY_MESSAGES_PER_INPUT);
  const { social } = asker;
  const budget = asker.sendQueueBytes / 2;
  const ordered = keep === "newest" ? messages.toReversed() : messages;
  const fitting: Uint8Array[] = [];
  let total = 0;
  let dealt = 0;
  for (const message of ordered) {
    // What an ignored nick said before counts as dealt with, and is not sent.
    const ignored = message.type === "msg" && message.from !== asker.nick &&
      social.ignores(message.from);
    const bytes = ignored ? null : asker.encoder.encode(message);
    if (bytes) {
      if (total + bytes.length > budget) break;
      fitting.push(bytes);
      total += bytes.length;
    }
    dealt++;
  }
  if (keep === "newest") fitting.reverse();
  for (const bytes of fitting) asker.send(bytes);
  return dealt;
}
