// What moderation does to members: the commands about one member (op, deop, kick, mute, unmute),
// run by the process that holds that member (in a cluster, the node its nick's lease names), and
// the removal of the members a ban holds for. Who may ask is checked before, where the operator is
// (moderation_handlers.ts); the site (moderation_site.ts) says how a room hears it.
import type { Member, Room } from "./chat.ts";
import type { Asker } from "./handlers.ts";
import { hostOf } from "./account_handlers.ts";
import { formatDuration } from "../protocol/moderation.ts";
import { ProtocolError, type ServerMessage } from "../protocol.ts";
import {
  type Ban,
  canonicalMask,
  type Moderation,
  parseMask,
  SERVER_WIDE,
  type Subject,
  untilText,
} from "./moderation.ts";
import type { AuditFields, MemberRequest, ModerationSite, RoomRef } from "./moderation_site.ts";

/** Who `member` is, to bans. Every member of a server's Chat is a session, and so an Asker. */
export function subjectOf(member: Member, nick = member.nick): Subject {
  const asker = member as Asker;
  return { nick, account: asker.account ?? null, host: hostOf(asker.address ?? "") };
}

/** The ban in `scope` that holds for `subject`; operators are not kept out of where they act. */
export function bannedHere(moderation: Moderation, scope: string, subject: Subject): Ban | null {
  if (moderation.roleOf(subject.account, scope === SERVER_WIDE ? null : scope)) return null;
  return moderation.find(scope, "ban", subject);
}

export function banned(ban: Ban, where: string, fatal = false): ProtocolError {
  const why = ban.reason ? ` (${ban.reason})` : "";
  return new ProtocolError(
    "banned",
    `You are banned from ${where} ${untilText(ban.until)}${why}`,
    fatal,
  );
}

/** What a connection from a server-wide banned address hears before it is closed. */
export function bannedFromServer(ban: Ban): ProtocolError {
  return banned(ban, "this server", true);
}

export function errorOf(error: ProtocolError): ServerMessage {
  return { type: "error", code: error.code, message: error.message };
}

/**
 * Runs `request` on `target`, this process's member called `request.input.nick`, or on nobody
 * (null): a mute or unmute then names the nick. Returns the fields of its audit line.
 */
export async function actOnMember(
  site: ModerationSite,
  moderation: Moderation,
  request: MemberRequest,
  target: Asker | null,
): Promise<AuditFields> {
  const { input, room: here, by } = request;
  const announce = (text: string, except?: Member) => site.announce(here, text, except);
  switch (input.type) {
    case "op":
    case "deop": {
      if (!target) throw noSuchNick(input.nick, null);
      if (target.account === null) {
        throw new ProtocolError(
          "not_identified",
          `${target.nick} has not identified: operators are kept by account`,
        );
      }
      await moderation.setOp(here.key, target.account, input.type === "op");
      const what = input.type === "op" ? "an operator" : "no longer an operator";
      await announce(`${by} made ${target.nick} ${what} of ${here.name}`);
      return { action: input.type, target: target.account };
    }
    case "kick": {
      const room = target && roomOf(target, here.key);
      if (!target || !room) throw noSuchNick(input.nick, here);
      const why = input.reason ? ` (${input.reason})` : "";
      const nick = target.nick; // none once it is out
      // Heard in the room before the member's leave, which the removal makes.
      await announce(`${nick} was kicked by ${by}${why}`, target);
      const message = `You were kicked from ${here.name} by ${by}${why}`;
      removeFrom(site, target, room, { type: "error", code: "kicked", message });
      return { action: "kick", target: nick, reason: input.reason };
    }
    case "mute": {
      const mask = muteMask(target, input.nick);
      const ban = await moderation.ban(here.key, "mute", mask, by, "", input.duration);
      if (target) site.mutes.remember(target, ban);
      const lasting = input.duration === undefined ? "" : ` for ${formatDuration(input.duration)}`;
      await announce(`${by} muted ${mask.text}${lasting}`);
      const until = ban.until === null ? "" : new Date(ban.until).toISOString();
      return { action: "mute", target: ban.mask, until };
    }
    case "unmute": {
      const mask = muteMask(target, input.nick);
      // Unmuting a member lifts the mutes its connection was given too, under an earlier nick.
      const given = target ? site.mutes.masks(target, here.key) : [];
      const lifted: string[] = [];
      for (const each of [...new Set([canonicalMask(mask), ...given])].map(parseMask)) {
        if (await moderation.unban(here.key, "mute", each)) lifted.push(each.text);
      }
      if (lifted.length === 0) {
        throw new ProtocolError("no_such_ban", `There is no mute of ${mask.text} to lift`);
      }
      await announce(`${by} lifted the mute of ${lifted.join(", ")}`);
      return { action: "unmute", target: lifted.join(",") };
    }
  }
}

// A mute follows the account of a member who has one, else the nick.
function muteMask(target: Asker | null, nick: string) {
  return parseMask(target?.account ? `account:${target.account}` : `nick:${nick}`);
}

/** The room of `member` whose key is `key`, if it is in it. */
export function roomOf(member: Member, key: string): Room | null {
  return [...member.rooms].find((room) => room.key === key) ?? null;
}

function noSuchNick(nick: string, room: RoomRef | null): ProtocolError {
  return new ProtocolError(
    "no_such_nick",
    `Nobody ${room ? `in ${room.name} ` : ""}is called ${nick}`,
  );
}

// Takes `target` out of `room`, telling it why; a member with no other room is closed, and so is
// one that cannot be parted (a node whose link to Redis is down refuses a part), so that the ban or
// kick holds all the same. Never throws: it runs inside a room's events on a node.
function removeFrom(site: ModerationSite, target: Asker, room: Room, error: ServerMessage): void {
  if (target.rooms.size > 1) {
    target.sendMessage(error);
    try {
      return site.part(target, room);
    } catch {
      // closed below
    }
  }
  site.leave(target);
  target.closeWith(error, error.type === "error" ? error.message : "removed");
}

/** Takes the members of this process that `ban` (a ban, not a mute) holds for out of its scope. */
export function enforce(site: ModerationSite, moderation: Moderation, ban: Ban): void {
  if (ban.kind !== "ban") return;
  for (const member of [...site.members()]) {
    // A room's ban concerns its members only: the cheap test first.
    const room = ban.scope === SERVER_WIDE ? null : roomOf(member, ban.scope);
    if (member.nick === null || (ban.scope !== SERVER_WIDE && !room)) continue;
    if (bannedHere(moderation, ban.scope, subjectOf(member)) === null) continue;
    if (room) {
      removeFrom(site, member as Asker, room, errorOf(banned(ban, room.name)));
      continue;
    }
    site.leave(member as Asker);
    const error = bannedFromServer(ban);
    (member as Asker).closeWith(errorOf(error), error.message);
  }
}
