// What a node knows of its own members in the cluster: the id each holds its nick under, and the
// leases that nick takes in Redis. A nick is leased under every key it is told apart by (its name
// key, for private messages, and its look-alike keys, for uniqueness), all or none at once.
import { lookalikeKeys, nameKey, ProtocolError } from "../../protocol.ts";
import { LARGE_ROOM_MEMBERS } from "../chat.ts";
import { nickLeaseKey, type RedisLink } from "./redis_link.ts";

/** A member's standing in the cluster. */
export interface Holding {
  /** node:number, unique in the cluster for this member's connection. */
  readonly holder: string;
  /** What its leases hold: the holder, a space, the nick. */
  value: string;
  keys: string[];
  /** The last nick change delivered to it, so that a change seen in two rooms is shown once. */
  lastChange: string;
  /** Leases of nicks it had, let go once its rooms have its rename (renames.ts announceRename). */
  former: Array<{ keys: string[]; value: string }>;
}

/** The lease keys of `nick`. */
export function leaseKeys(nick: string): string[] {
  const keys = [nickLeaseKey(`n:${nameKey(nick)}`)];
  for (const key of lookalikeKeys(nick)) keys.push(nickLeaseKey(`l:${key}`));
  return keys;
}

/** The key whose lease names the member called `nick`, for private messages. */
export const nameLeaseKey = (nick: string) => nickLeaseKey(`n:${nameKey(nick)}`);

/** The holder and nick of a lease's value. */
export function parseLease(value: string): { holder: string; nick: string } {
  const space = value.indexOf(" ");
  return { holder: value.slice(0, space), nick: value.slice(space + 1) };
}

/** The node a holder id belongs to. */
export const nodeOf = (holder: string) => holder.slice(0, holder.lastIndexOf(":"));

/** Who holds `nick` in the cluster, as held, and on which node; null if nobody does. */
export async function leaseOf(
  link: RedisLink,
  nick: string,
): Promise<{ holder: string; nick: string; node: string } | null> {
  const value = await link.commands.get(nameLeaseKey(nick));
  if (value === null) return null;
  const lease = parseLease(value);
  return { ...lease, node: nodeOf(lease.holder) };
}

export function nickTaken(nick: string, heldBy: string): ProtocolError {
  const message = nameKey(nick) === nameKey(heldBy)
    ? `The nick ${nick} is taken; choose another`
    : `The nick ${nick} looks like ${heldBy}, who is here; choose another`;
  return new ProtocolError("nick_taken", message);
}

/** The error for what cannot be done while Redis cannot be reached. */
export function clusterDown(what = "your message was not sent"): ProtocolError {
  return new ProtocolError(
    "cluster_down",
    `This server has lost its link to the rest of the chat: ${what}; try again once it is back`,
  );
}

/** Events each room's stream keeps: what gap recovery and history can read back. */
export function streamLength(historyLimit: number): number {
  return Math.max(1000, 4 * historyLimit);
}

/** A room's nicks for a welcome, joined or who, as many as a large room names, with the count. */
export function memberList(nicks: string[]): { members: string[]; count?: number } {
  return nicks.length > LARGE_ROOM_MEMBERS
    ? { members: nicks.slice(0, LARGE_ROOM_MEMBERS), count: nicks.length }
    : { members: nicks };
}
