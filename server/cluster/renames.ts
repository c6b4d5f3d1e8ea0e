// A member's rename across the cluster: told in its rooms before its old nick is let go
// (announceRename), and followed by every node's ignores (social.ts followRename: ssh-chat ignores
// the person, not the name). A node hears a rename in two ways, and follows it both times (the
// second finds nothing left to change): in the room events of the renamed member's rooms, in room
// order, so that none of its messages under the new nick slips past an ignore on a node that
// serves those rooms, right after the rename itself; and on one channel every node listens to, for
// the members in none of its rooms (on a node that may serve none of them), whose ignores would
// otherwise fall on whoever takes the old nick next. The channel may come first: its note leaves
// the members of the renamed member's rooms to the room events, so that each sees the rename
// before its new list. Renames are rare (a /nick, a /login, a grace running out), so every node
// hearing each one costs little.
import type { Member, Room } from "../chat.ts";
import { followRename } from "../social.ts";
import type { ClusterNode } from "./node.ts";
import type { Holding } from "./members.ts";

/** Where each rename is told to every node: holder, old nick, new nick. */
export const RENAMES_CHANNEL = "parley:renames";

interface Renamed {
  h: string;
  f: string;
  t: string;
  /** The keys of the renamed member's rooms. */
  r: string[];
}

/**
 * This node's members that ignored `from`, the name of the member `holder`, ignore `to` instead:
 * those of `members`, by default all.
 */
export function followAcross(
  node: ClusterNode,
  holder: string,
  from: string,
  to: string,
  members: Iterable<Member> = node.byHolder.values(),
): void {
  followRename(members, node.byHolder.get(holder), from, to);
}

/** Listens for the renames of every node. */
export async function listenForRenames(node: ClusterNode): Promise<void> {
  await node.link.subscribeJson<Renamed>(RENAMES_CHANNEL, "a rename", ({ h, f, t, r }) => {
    const elsewhere = [...node.byHolder.values()].filter((member) =>
      ![...member.rooms].some((room) => r.includes(room.key))
    );
    followAcross(node, h, f, t, elsewhere);
  });
}

/** Tells every node that `member` (this node's) was `from` and is `to`; at most once, as pub/sub. */
export function tellRename(node: ClusterNode, member: Member, from: string, to: string): void {
  const holder = node.holdings.get(member)?.holder;
  if (holder === undefined) return;
  const renamed: Renamed = {
    h: holder,
    f: from,
    t: to,
    r: [...member.rooms].map((room) => room.key),
  };
  node.link.publish(RENAMES_CHANNEL, JSON.stringify(renamed)).catch(() => {});
}

let changes = 0; // with the holder, names each change: unique across the cluster

/**
 * Tells every room of `member` that `nick` is now `newNick`; each member sees it once (`member` not
 * at all if it was told already). The nick it had is let go only once its rooms have the rename,
 * so that nobody takes it and shows up under it before the rooms hear that it changed: one step,
 * retried whole once Redis is back (rooms told already are not told again), that lets go even if a
 * room could not be told (a Redis Cluster shard down must not keep the nick). Resolves once this
 * node delivered the rename in each room, so that what `member` is told next (a login's notice)
 * comes after, as on a single server: the answer to a publish comes on another connection than the
 * event, often first. Where it could not be published, at once (it goes once Redis is back).
 */
export async function announceRename(
  node: ClusterNode,
  member: Member,
  nick: string,
  newNick: string,
  told = false,
): Promise<void> {
  const holding = node.holdings.get(member)!;
  const change = `${holding.holder}#${++changes}`;
  if (told) holding.lastChange = change;
  tellRename(node, member, nick, newNick);
  const event = { t: "nick" as const, m: holding.holder, n: nick, x: newNick, c: change };
  const untold = new Set(member.rooms);
  const former = holding.former.splice(0);
  const ids = new Map<Room, number>();
  await node.retrying(async () => {
    // Tried again after an outage: rooms that missed it hear it only if it is still the news.
    if (member.nick !== newNick) untold.clear();
    const sent = await Promise.allSettled([...untold].map(async (room) => {
      ids.set(room, (await node.events.publish(room, event, newNick)).id);
      untold.delete(room);
    }));
    await letGo(node, holding, former);
    const failed = sent.find((publish) => publish.status === "rejected");
    if (failed) throw failed.reason;
  }).catch(() => {});
  await Promise.all([...ids].map(([room, id]) => {
    if (id > 0 && member.rooms.has(room)) return node.rooms.feedOf(room).reached(id);
  }));
}

/**
 * Lets go of each of `leases`, the nicks a member had, once: a step tried again does not let go of
 * one twice, nor of one the member holds again by now (it took that nick back, so the lease's
 * value is its own once more).
 */
export async function letGo(
  node: ClusterNode,
  holding: Holding,
  leases: Holding["former"],
): Promise<void> {
  while (leases.length > 0) {
    const { keys, value } = leases[0];
    if (value !== holding.value) await node.link.release(keys, value);
    leases.shift();
  }
}
