// What the operators' commands do, and the one place every input is checked against who may send
// it (permissionOf, from the command table) before anything acts on it. The service of a server is
// wrapped here: bans keep members out of rooms (the site's gate) and the server, mutes refuse
// messages, and a member who joins hears the message of the day and the room's topic. The rules
// themselves are moderation.ts; what is done to one member is moderation_members.ts, run where that
// member is (moderation_site.ts: this process, or its node of a cluster); each action is announced
// to the room and written as one audit line, by the server the operator is on.
import type { Member, Room } from "./chat.ts";
import type { Asker, ChatService } from "./handlers.ts";
import { permissionOf } from "../protocol/slash_commands.ts";
import { formatDuration, type ModerationMessage, ROOM_SCOPED } from "../protocol/moderation.ts";
import type { Who } from "../protocol/moderation.ts";
import { cleanText, nameKey, ProtocolError, textProblem } from "../protocol.ts";
import {
  auditLine,
  type Ban,
  canonicalMask,
  type Moderation,
  parseMask,
  SERVER_WIDE,
  untilText,
} from "./moderation.ts";
import {
  actOnMember,
  banned,
  bannedFromServer,
  bannedHere,
  enforce,
  roomOf,
  subjectOf,
} from "./moderation_members.ts";
import type { ModerationSite } from "./moderation_site.ts";

export interface ModerationOptions {
  /** The server's moderation; null for a server without (a test's, say). */
  moderation: Moderation | null;
  /** The message of the day, a notice a line, after the welcome. */
  motd: readonly string[];
  /** Where audit lines go: stderr, even with --quiet. */
  audit: (line: string) => void;
  /** Where it acts: a node of a cluster's site; without it, the server's own Chat. */
  site?: ModerationSite;
}

const MODERATION_TYPES = new Set<string>([...ROOM_SCOPED, "kline", "unkline", "klines"]);

/** `inner` with moderation in front of it, acting through `site`; installs the site's gate. */
export function moderatedService(
  inner: ChatService,
  site: ModerationSite,
  options: ModerationOptions,
): ChatService {
  const { moderation } = options;
  // The site greets between the answer to a join and the room's history, as IRC sends the topic
  // right after JOIN; a server without moderation greets after it.
  if (moderation) {
    site.install({
      gate: (member, nick, room, arriving) => gate(moderation, member, nick, room, arriving),
      greeting: (member, arrived) => greet(options, member as Asker, arrived),
      act: (request, target) => actOnMember(site, moderation, request, target),
      enforce: (ban) => enforce(site, moderation, ban),
    });
  }
  return {
    handle(asker, input) {
      if (MODERATION_TYPES.has(input.type)) {
        return moderate(site, options, asker, input as ModerationMessage);
      }
      if (moderation && input.type === "msg" && input.to === undefined) {
        refuseMuted(moderation, site, asker, input.room);
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

// Keeps a banned member out: of the server (a close) for a server-wide ban, or of the room, with a
// close too when it is joining the server (`arriving`), since it has no room to be in yet. A
// member renaming (to a nick other than its own) into a banned nick is refused the nick and stays
// as it was, as IRC refuses a nick change into a channel's ban; a server-wide ban refuses it the
// same way. Operators are not kept out of where they act (so that no ban locks its maker out).
function gate(
  moderation: Moderation,
  member: Member,
  nick: string,
  roomName: string,
  arriving = member.nick === null,
): void {
  const subject = subjectOf(member, nick);
  const renaming = member.nick !== null && nick !== member.nick;
  const server = bannedHere(moderation, SERVER_WIDE, subject);
  if (server) throw renaming ? nickBanned(server, nick, "this server") : bannedFromServer(server);
  const room = bannedHere(moderation, nameKey(roomName), subject);
  if (room && renaming) throw nickBanned(room, nick, roomName);
  if (room) throw banned(room, roomName, arriving);
}

function nickBanned(ban: Ban, nick: string, where: string): ProtocolError {
  const why = ban.reason ? ` (${ban.reason})` : "";
  return new ProtocolError(
    "banned",
    `You cannot be ${nick}: it is banned from ${where} ${untilText(ban.until)}${why}`,
  );
}

function refuseMuted(
  moderation: Moderation,
  site: ModerationSite,
  asker: Asker,
  roomName?: string,
): void {
  const room = roomName === undefined ? asker.room : roomOf(asker, nameKey(roomName));
  if (!room || asker.nick === null) return; // the chat answers that
  const mute = moderation.find(room.key, "mute", subjectOf(asker)) ??
    site.mutes.find(moderation, asker, room.key) ??
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
  site: ModerationSite,
  options: ModerationOptions,
  asker: Asker,
  input: ModerationMessage,
): Promise<void> {
  const { moderation } = options;
  if (!moderation) {
    throw new ProtocolError("not_available", `/${input.type} is not available on this server`);
  }
  if (asker.nick === null) {
    throw new ProtocolError("not_joined", 'Send "hello" with your nick first');
  }
  let room: Room | null = null;
  if ("room" in input || ROOM_SCOPED.has(input.type)) {
    const name = (input as { room?: string }).room ?? asker.room!.name;
    room = roomOf(asker, nameKey(name));
    if (!room) throw new ProtocolError("not_in_room", `You are not in ${name}; /join it first`);
  }
  permit(moderation, asker, input.type, room);
  const by = asker.nick;
  const audit = (fields: Record<string, string | number | null | undefined>) =>
    options.audit(
      auditLine({ action: fields.action, room: room?.name, by, account: asker.account, ...fields }),
    );
  const announce = async (text: string) => {
    if (room) await site.announce(room, text);
  };
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
      return await announce(`${by} claimed ${here.name}: ${asker.account} owns it`);
    }
    case "op":
    case "deop":
    case "kick":
    case "mute":
    case "unmute": {
      // Done where the member is: this process, or (in a cluster) the node that holds its nick.
      const request = { input, room: here, by };
      return audit(await site.onMember(input.nick, request));
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
      return await announce(`${by} set the topic of ${here.name}: ${text}`);
    }
    case "ban":
    case "kline": {
      const scope = input.type === "kline" ? SERVER_WIDE : here.key;
      const mask = parseMask(input.mask);
      const reason = input.reason ?? "";
      const ban = await moderation.ban(scope, "ban", mask, by, reason, input.duration);
      const until = ban.until === null ? "" : new Date(ban.until).toISOString();
      audit({ action: input.type, target: ban.mask, until, reason });
      const lasting = input.duration === undefined ? "" : ` for ${formatDuration(input.duration)}`;
      const why = reason ? ` (${reason})` : "";
      if (input.type === "kline") tell(`${ban.mask} is banned from this server${lasting}${why}`);
      else await site.announce(here, `${by} banned ${mask.text}${lasting}${why}`, undefined, ban);
      // In a cluster every node, this one too, enforces the ban as it hears of it.
      if (!site.bansSpread) enforce(site, moderation, ban);
      return;
    }
    case "unban":
    case "unkline": {
      const scope = input.type === "unkline" ? SERVER_WIDE : here.key;
      const mask = parseMask(input.mask);
      if (!await moderation.unban(scope, "ban", mask)) {
        throw new ProtocolError("no_such_ban", `There is no ban of ${mask.text} to lift`);
      }
      const lifted = parseMask(canonicalMask(mask)).text;
      audit({ action: input.type, target: lifted });
      if (input.type === "unkline") return tell(`${mask.text} may come back to this server`);
      return await announce(`${by} lifted the ban of ${lifted}`);
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
