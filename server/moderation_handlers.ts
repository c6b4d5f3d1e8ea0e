// What the operators' commands do, and the one place every input is checked against who may send
// it (permissionOf, from the command table) before anything acts on it. The service of a server is
// wrapped here: bans keep members out of rooms (Chat's gate) and the server, mutes refuse messages,
// and a member who joins hears the message of the day and the room's topic. The rules themselves
// are moderation.ts; each action is announced to the room and written as one audit line.
import type { Chat, Member, Room } from "./chat.ts";
import type { Asker, ChatService } from "./handlers.ts";
import { hostOf } from "./account_handlers.ts";
import { ConnectionMutes } from "./connection_mutes.ts";
import { permissionOf } from "../protocol/slash_commands.ts";
import { formatDuration, type ModerationMessage, ROOM_SCOPED } from "../protocol/moderation.ts";
import type { Who } from "../protocol/moderation.ts";
import { cleanText, nameKey, ProtocolError, type ServerMessage, textProblem } from "../protocol.ts";
import {
  auditLine,
  type Ban,
  canonicalMask,
  type Moderation,
  parseMask,
  SERVER_WIDE,
  type Subject,
  untilText,
} from "./moderation.ts";

export interface ModerationOptions {
  /** The server's moderation; null on a node of a cluster, where it is not available yet. */
  moderation: Moderation | null;
  /** The message of the day, a notice a line, after the welcome. */
  motd: readonly string[];
  /** Where audit lines go: stderr, even with --quiet. */
  audit: (line: string) => void;
}

const MODERATION_TYPES = new Set<string>([...ROOM_SCOPED, "kline", "unkline", "klines"]);

/** `inner` with moderation in front of it; sets `chat`'s gate. */
export function moderatedService(
  inner: ChatService,
  chat: Chat,
  options: ModerationOptions,
): ChatService {
  const { moderation } = options;
  if (moderation) chat.gate = (member, nick, room) => gate(moderation, member, nick, room);
  // This server's handlers greet between the answer to a join and the room's history, as IRC
  // sends the topic right after JOIN; a node of a cluster (no moderation yet) greets after it.
  if (moderation) chat.greeting = (member, arrived) => greet(options, member as Asker, arrived);
  const mutes = new ConnectionMutes();
  return {
    handle(asker, input) {
      if (MODERATION_TYPES.has(input.type)) {
        return moderate(chat, options, mutes, asker, input as ModerationMessage);
      }
      if (moderation && input.type === "msg" && input.to === undefined) {
        refuseMuted(moderation, mutes, asker, input.room);
      }
      const arrived = input.type === "hello" && asker.nick === null;
      const acting = inner.handle(asker, input);
      if (moderation) return acting;
      return then(acting, () => {
        if (arrived) greet(options, asker, true);
      });
    },
    welcomeGuest(asker, greeted) {
      const acting = inner.welcomeGuest(asker, greeted);
      return moderation ? acting : then(acting, () => greet(options, asker, true));
    },
    leave: (member) => inner.leave(member),
  };
}

function then(acting: void | Promise<void>, next: () => void): void | Promise<void> {
  return acting instanceof Promise ? acting.then(next) : next();
}

/** Who `member` is, to bans. Every member of a server's Chat is a session, and so an Asker. */
function subjectOf(member: Member, nick = member.nick): Subject {
  const asker = member as Asker;
  return { nick, account: asker.account ?? null, host: hostOf(asker.address ?? "") };
}

// Keeps a banned member out: of the server (a close) for a server-wide ban, or of the room, with a
// close too when it is joining the server, since it has no room to be in yet. A member renaming
// (to a nick other than its own) into a banned nick is refused the nick and stays as it was, as
// IRC refuses a nick change into a channel's ban; a server-wide ban refuses it the same way.
// Operators are not kept out of where they act (so that no ban locks its maker out).
function gate(moderation: Moderation, member: Member, nick: string, roomName: string): void {
  const subject = subjectOf(member, nick);
  const renaming = member.nick !== null && nick !== member.nick;
  const server = bannedHere(moderation, SERVER_WIDE, subject);
  if (server) throw renaming ? nickBanned(server, nick, "this server") : bannedFromServer(server);
  const room = bannedHere(moderation, nameKey(roomName), subject);
  if (room && renaming) throw nickBanned(room, nick, roomName);
  if (room) throw banned(room, roomName, member.nick === null);
}

function nickBanned(ban: Ban, nick: string, where: string): ProtocolError {
  const why = ban.reason ? ` (${ban.reason})` : "";
  return new ProtocolError(
    "banned",
    `You cannot be ${nick}: it is banned from ${where} ${untilText(ban.until)}${why}`,
  );
}

function bannedHere(moderation: Moderation, scope: string, subject: Subject): Ban | null {
  if (moderation.roleOf(subject.account, scope === SERVER_WIDE ? null : scope)) return null;
  return moderation.find(scope, "ban", subject);
}

/** What a connection from a server-wide banned address hears before it is closed. */
export function bannedFromServer(ban: Ban): ProtocolError {
  return banned(ban, "this server", true);
}

function banned(ban: Ban, where: string, fatal = false): ProtocolError {
  const why = ban.reason ? ` (${ban.reason})` : "";
  return new ProtocolError(
    "banned",
    `You are banned from ${where} ${untilText(ban.until)}${why}`,
    fatal,
  );
}

function refuseMuted(
  moderation: Moderation,
  mutes: ConnectionMutes,
  asker: Asker,
  roomName?: string,
): void {
  const room = roomName === undefined ? asker.room : roomIn(asker, roomName);
  if (!room || asker.nick === null) return; // the chat answers that
  const mute = moderation.find(room.key, "mute", subjectOf(asker)) ??
    mutes.find(moderation, asker, room.key) ??
    moderation.find(SERVER_WIDE, "mute", subjectOf(asker));
  if (mute) {
    throw new ProtocolError(
      "muted",
      `You are muted in ${room.name} ${untilText(mute.until)}: nobody hears you there`,
    );
  }
}

// After a member joins the server (`arrived`): the message of the day; after it joins a room (or
// the server, into one): the room's topic. Not again for a room it switches back to.
function greet(options: ModerationOptions, asker: Asker, arrived: boolean): void {
  if (asker.room === null) return;
  const tell = (text: string) => asker.sendMessage({ type: "notice", text });
  if (arrived) { for (const line of options.motd) tell(line); }
  const topic = options.moderation?.room(asker.room.key)?.topic;
  if (topic) tell(`topic of ${asker.room.name}: ${topic.text} (set by ${topic.by})`);
}

function roomIn(asker: Asker, roomName: string): Room | null {
  return [...asker.rooms].find((room) => room.key === nameKey(roomName)) ?? null;
}

const ROLE_NAMES: Record<Exclude<Who, "anyone">, string> = {
  "room-operator": "operators of",
  "room-owner": "the owner of",
  "server-operator": "server operators",
};

/**
 * The one check of who may send what: `type`'s permission from the command table, for `asker`'s
 * account in `room` (setting a claimed room's topic asks for operators, `who`). Throws
 * not_operator, saying what the command needs.
 */
function permit(
  moderation: Moderation,
  asker: Asker,
  type: string,
  room: Room | null,
  who = permissionOf(type),
): void {
  if (moderation.allows(who, asker.account, room?.key ?? null)) return;
  const needs = who === "server-operator"
    ? ROLE_NAMES[who]
    : `${ROLE_NAMES[who as Exclude<Who, "anyone">]} ${room?.name}`;
  const why = asker.account === null
    ? "identify first (/identify PASSWORD)"
    : room && !moderation.room(room.key)?.owner && who !== "server-operator"
    ? `${room.name} is not claimed, so only server operators act in it`
    : `you (${asker.account}) are not one`;
  throw new ProtocolError("not_operator", `/${type} is for ${needs}: ${why}`);
}

async function moderate(
  chat: Chat,
  options: ModerationOptions,
  mutes: ConnectionMutes,
  asker: Asker,
  input: ModerationMessage,
): Promise<void> {
  const { moderation } = options;
  if (!moderation) {
    throw new ProtocolError("not_available", `/${input.type} is not available in a cluster yet`);
  }
  if (asker.nick === null) {
    throw new ProtocolError("not_joined", 'Send "hello" with your nick first');
  }
  let room: Room | null = null;
  if ("room" in input || ROOM_SCOPED.has(input.type)) {
    const name = (input as { room?: string }).room ?? asker.room!.name;
    room = roomIn(asker, name);
    if (!room) throw new ProtocolError("not_in_room", `You are not in ${name}; /join it first`);
  }
  permit(moderation, asker, input.type, room);
  const by = asker.nick;
  const audit = (fields: Record<string, string | number | null | undefined>) =>
    options.audit(
      auditLine({ action: fields.action, room: room?.name, by, account: asker.account, ...fields }),
    );
  const announce = (text: string) => room?.broadcast({ type: "notice", text });
  const tell = (text: string) => asker.sendMessage({ type: "notice", text });
  const here = room!;
  switch (input.type) {
    case "claim": {
      if (asker.account === null) {
        throw new ProtocolError(
          "not_identified",
          "Claiming a room needs a registered nick you have identified for (/register, /identify)",
        );
      }
      await moderation.claim(here.key, here.name, asker.account);
      audit({ action: "claim", owner: asker.account });
      return announce(`${by} claimed ${here.name}: ${asker.account} owns it`);
    }
    case "op":
    case "deop": {
      const target = memberIn(chat, input.nick, null);
      if (target.account === null) {
        throw new ProtocolError(
          "not_identified",
          `${target.nick} has not identified: operators are kept by account`,
        );
      }
      await moderation.setOp(here.key, target.account, input.type === "op");
      audit({ action: input.type, target: target.account });
      const what = input.type === "op" ? "an operator" : "no longer an operator";
      return announce(`${by} made ${target.nick} ${what} of ${here.name}`);
    }
    case "topic": {
      if (input.text === undefined) {
        const topic = moderation.room(here.key)?.topic;
        return tell(
          topic
            ? `topic of ${here.name}: ${topic.text} (set by ${topic.by})`
            : `${here.name} has no topic`,
        );
      }
      if (moderation.room(here.key)?.owner) {
        permit(moderation, asker, "topic", here, "room-operator");
      }
      const text = cleanText(input.text);
      const problem = textProblem(text);
      if (problem) throw problem;
      await moderation.setTopic(here.key, here.name, { text, by, at: moderation.now() });
      audit({ action: "topic", topic: text });
      return announce(`${by} set the topic of ${here.name}: ${text}`);
    }
    case "kick": {
      const target = memberIn(chat, input.nick, here);
      const why = input.reason ? ` (${input.reason})` : "";
      audit({ action: "kick", target: target.nick, reason: input.reason });
      here.broadcast({ type: "notice", text: `${target.nick} was kicked by ${by}${why}` }, target);
      const message = `You were kicked from ${here.name} by ${by}${why}`;
      return removeFrom(chat, target, here, { type: "error", code: "kicked", message });
    }
    case "ban":
    case "mute":
    case "kline": {
      const scope = input.type === "kline" ? SERVER_WIDE : here.key;
      const kind = input.type === "mute" ? "mute" : "ban";
      const mask = input.type === "mute" ? muteMask(chat, input.nick) : parseMask(input.mask);
      const reason = "reason" in input ? input.reason ?? "" : "";
      const ban = await moderation.ban(scope, kind, mask, by, reason, input.duration);
      const until = ban.until === null ? "" : new Date(ban.until).toISOString();
      audit({ action: input.type, target: ban.mask, until, reason });
      const lasting = input.duration === undefined ? "" : ` for ${formatDuration(input.duration)}`;
      const why = reason ? ` (${reason})` : "";
      if (input.type === "kline") {
        tell(`${ban.mask} is banned from this server${lasting}${why}`);
        return banFromServer(chat, moderation, ban);
      }
      announce(`${by} ${input.type === "mute" ? "muted" : "banned"} ${mask.text}${lasting}${why}`);
      if (kind === "ban") banFromRoom(chat, moderation, here, ban);
      const muted = input.type === "mute" ? chat.memberNamed(input.nick) : undefined;
      if (muted) mutes.remember(muted, ban);
      return;
    }
    case "unban":
    case "unmute":
    case "unkline": {
      const scope = input.type === "unkline" ? SERVER_WIDE : here.key;
      const kind = input.type === "unmute" ? "mute" : "ban";
      const mask = input.type === "unmute" ? muteMask(chat, input.nick) : parseMask(input.mask);
      // Unmuting a member lifts the mutes its connection was given too, under an earlier nick.
      const target = input.type === "unmute" ? chat.memberNamed(input.nick) : undefined;
      const masks = new Set([canonicalMask(mask), ...target ? mutes.masks(target, scope) : []]);
      const lifted: string[] = [];
      for (const each of [...masks].map(parseMask)) {
        if (await moderation.unban(scope, kind, each)) lifted.push(each.text);
      }
      if (lifted.length === 0) {
        throw new ProtocolError("no_such_ban", `There is no ${kind} of ${mask.text} to lift`);
      }
      audit({ action: input.type, target: lifted.join(",") });
      if (input.type === "unkline") return tell(`${mask.text} may come back to this server`);
      return announce(`${by} lifted the ${kind} of ${lifted.join(", ")}`);
    }
    case "bans":
    case "klines": {
      const bans = moderation.list(input.type === "klines" ? SERVER_WIDE : here.key);
      const where = input.type === "klines" ? "this server" : here.name;
      tell(bans.length === 0 ? `no bans in ${where}` : `bans in ${where}:`);
      for (const ban of bans) {
        const why = ban.reason ? `: ${ban.reason}` : "";
        tell(`  ${ban.kind} ${ban.mask} by ${ban.by} ${untilText(ban.until)}${why}`);
      }
      return;
    }
  }
}

// The member called `nick`, in `room` if one is given.
function memberIn(chat: Chat, nick: string, room: Room | null): Asker {
  const target = chat.memberNamed(nick) as Asker | undefined;
  if (!target || (room && !target.rooms.has(room))) {
    throw new ProtocolError(
      "no_such_nick",
      `Nobody ${room ? `in ${room.name} ` : ""}is called ${nick}`,
    );
  }
  return target;
}

// A mute follows the account of a member who has one, else the nick.
function muteMask(chat: Chat, nick: string) {
  const account = (chat.memberNamed(nick) as Asker | undefined)?.account;
  return parseMask(account ? `account:${account}` : `nick:${nick}`);
}

// Takes `target` out of `room`, telling it why; a member with no other room is closed.
function removeFrom(chat: Chat, target: Asker, room: Room, error: ServerMessage): void {
  if (target.rooms.size > 1) {
    target.sendMessage(error);
    chat.part(target, room.name);
  } else {
    chat.leave(target);
    target.closeWith(error, error.type === "error" ? error.message : "removed");
  }
}

function banFromRoom(chat: Chat, moderation: Moderation, room: Room, ban: Ban): void {
  for (const member of [...room.members]) {
    if (bannedHere(moderation, room.key, subjectOf(member)) === null) continue;
    removeFrom(chat, member as Asker, room, errorOf(banned(ban, room.name)));
  }
}

function banFromServer(chat: Chat, moderation: Moderation, ban: Ban): void {
  for (const member of [...chat.members()]) {
    if (bannedHere(moderation, SERVER_WIDE, subjectOf(member)) === null) continue;
    chat.leave(member);
    const error = banned(ban, "this server", true);
    (member as Asker).closeWith(errorOf(error), error.message);
  }
}

function errorOf(error: ProtocolError): ServerMessage {
  return { type: "error", code: error.code, message: error.message };
}
