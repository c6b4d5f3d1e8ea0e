// Where moderation acts: this process's Chat (a single server), or a node of a cluster
// (cluster/moderation_site.ts), whose members are spread over nodes. The handlers
// (moderation_handlers.ts) decide what an operator may do and what it means; a site says how it
// reaches the members it is about: who they are, how a room hears an announcement, how a member is
// taken out, and which process holds a member named in a command.
import type { Chat, Member, Room } from "./chat.ts";
import type { Asker } from "./handlers.ts";
import type { Ban } from "./moderation.ts";
import type { ModerationMessage } from "../protocol/moderation.ts";
import { ConnectionMutes } from "./connection_mutes.ts";

/** A room by its key and name: served by this process or not. */
export type RoomRef = Pick<Room, "key" | "name">;

/** The fields of an audit line (moderation.ts, auditLine). */
export type AuditFields = Record<string, string | number | null | undefined>;

/** A command about one member (op, deop, kick, mute, unmute), to run where that member is. */
export interface MemberRequest {
  input: Extract<ModerationMessage, { type: "op" | "deop" | "kick" | "mute" | "unmute" }>;
  /** The room it acts in, as the operator named it. */
  room: RoomRef;
  /** The operator's nick. */
  by: string;
}

/** What the handlers give a site to call: see ModerationSite.install. */
export interface SiteHooks {
  /** Throws to keep `member` out of `roomName` under `nick` (a ban); see Chat.gate. */
  gate(member: Member, nick: string, roomName: string, arriving?: boolean): void;
  /** The message of the day (if `arrived`) and the room's topic, before the room's history. */
  greeting(member: Member, arrived: boolean): void;
  /** Runs `request` on `target`, a member of this process, or on nobody; returns the audit. */
  act(request: MemberRequest, target: Asker | null): Promise<AuditFields>;
  /** Takes the members of this process that `ban` holds for out of where it holds. */
  enforce(ban: Ban): void;
}

export interface ModerationSite {
  /** The mutes given to this process's connections: one for every service of the server. */
  readonly mutes: ConnectionMutes;
  /** Whether every process enforces a ban by itself when it hears of it (a cluster). */
  readonly bansSpread: boolean;
  install(hooks: SiteHooks): void;
  /** This process's members. */
  members(): Iterable<Member>;
  /**
   * Tells everyone in `room` (on every node) but `except`, in the room's order; a `ban` announced
   * is then enforced there by every node (a single server's handlers enforce it themselves).
   */
  announce(room: RoomRef, text: string, except?: Member, ban?: Ban): void | Promise<void>;
  /** Takes `member` out of `room`, one of its rooms but not its only one. */
  part(member: Asker, room: Room): void;
  /** Takes `member` out of every room and lets go of its nick; it is closed next. */
  leave(member: Asker): void;
  /** Runs `request` where the member called `nick` is (act on this process, if it is here). */
  onMember(nick: string, request: MemberRequest): Promise<AuditFields>;
}

/** The site of a single server: everyone is in `chat`. */
export function localSite(chat: Chat): ModerationSite {
  let hooks: SiteHooks | null = null;
  return {
    mutes: new ConnectionMutes(),
    bansSpread: false,
    install(given) {
      hooks = given;
      chat.gate = given.gate;
      chat.greeting = given.greeting;
    },
    members: () => chat.members(),
    // Every room a command names on one server is one of its Chat's.
    announce: (room, text, except) =>
      (room as Room).broadcast({ type: "notice", text }, except ?? null),
    part: (member, room) => chat.part(member, room.name),
    leave: (member) => chat.leave(member),
    onMember: (nick, request) =>
      hooks!.act(request, (chat.memberNamed(nick) as Asker | undefined) ?? null),
  };
}
