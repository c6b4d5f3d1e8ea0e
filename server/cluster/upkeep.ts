// What keeps a node's standing in the cluster: its presence key, which holds its members' nick
// leases too, renewed every third of a lease; private messages to its members; and the sweep after
// a node that died. A node that stops renewing (killed, frozen, cut off) loses its presence, and
// so its nicks, within one lease; the next tick of a surviving node then announces its members'
// leaves and deletes their leases. So a dead node's members are gone from every room, and their nicks free,
// within a lease and a third (LEASE_SWEEP_BOUND).
import type { ChatMessage } from "../../protocol.ts";
import {
  nodeAliveKey,
  nodeChannel,
  NODES_KEY,
  roomKeys,
  ROOMS_KEY,
  sweepKey,
} from "./redis_link.ts";
import { leaseKeys, leaseOf, nodeOf } from "./members.ts";
import type { ClusterNode } from "./node.ts";
import type { SocialNote } from "./social.ts";

/**
 * What a node's channel carries, told apart by `kind`: a private message `m` for its member `h`
 * from the member `s` (older nodes send it with no kind, and no `s`), or another file's note.
 */
type NodeNote = { kind?: "msg"; h: string; m: ChatMessage; s?: string } | SocialNote;

/** How a lease compares with the longest a dead node's members stay listed: see above. */
export const LEASE_SWEEP_BOUND = 4 / 3;

export class Upkeep {
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticking = false;
  // No node is swept before this time: see linkBack.
  #sweepAfter = 0;

  constructor(readonly node: ClusterNode) {}

  async start(): Promise<void> {
    const { link, id } = this.node;
    await link.subscribeJson<NodeNote>(nodeChannel(id), "a note", (note) => this.#heard(note));
    await this.#present();
    this.#timer = setInterval(() => this.#tick(), this.node.options.leaseMs / 3);
  }

  /**
   * After an outage of Redis every node's presence may have run out, and the others have not yet
   * renewed theirs: nobody is taken for dead until they have had a lease to do it.
   */
  linkBack(): void {
    this.#sweepAfter = Date.now() + this.node.options.leaseMs;
    // At once: while the node's presence is gone, its members' nicks are free for the taking.
    this.#tick();
  }

  // What came over this node's channel, by `kind`: each kind is answered by the file that sends it.
  #heard(note: NodeNote): void {
    switch (note.kind) {
      case undefined:
      case "msg":
        return this.node.deliverPrivate(note.h, note.m, note.s);
      case "whois":
      case "whois_answer":
      case "away":
        return this.node.social.heard(note);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    const { link, id } = this.node;
    await Promise.allSettled([
      link.commands.del(nodeAliveKey(id)),
      link.commands.sRem(NODES_KEY, id),
    ]);
  }

  // Renews the node's presence, and with it every nick its members hold (their leases hold while
  // it is present: see nickLeaseKey): one command however many members, sent with the node's entry
  // in the list of nodes. Found gone, the node was taken for dead (frozen or cut off for longer
  // than a lease): its members' nicks were free meanwhile, and they may have been swept from their
  // rooms. They claim their nicks and join again.
  async #present(): Promise<void> {
    const { link, id, options } = this.node;
    const [renewed] = await Promise.all([
      link.commands.set(nodeAliveKey(id), "1", { PX: options.leaseMs, XX: true }),
      link.commands.sAdd(NODES_KEY, id),
    ]);
    if (renewed !== null) return;
    await link.commands.set(nodeAliveKey(id), "1", { PX: options.leaseMs });
    if (!this.#timer) return; // starting: nobody took it for dead
    options.log("redis: this node was taken for dead; its members join again");
    await this.node.rejoin();
  }

  #tick(): void {
    if (this.#ticking || !this.node.link.commands.isReady) return;
    this.#ticking = true;
    this.node.retryUnsent();
    (async () => {
      await this.#present();
      await this.#sweep();
      await this.node.rooms.check();
    })().catch((error) => this.node.options.log(`redis: upkeep failed: ${error}`))
      .finally(() => this.#ticking = false);
  }

  // Announces the leaves of the members of every node that is no longer present. One node sweeps
  // each dead one; the publish script drops a leave for someone already gone, so none is doubled.
  async #sweep(): Promise<void> {
    const { link, id, options } = this.node;
    if (Date.now() < this.#sweepAfter) return;
    const nodes = await link.commands.sMembers(NODES_KEY);
    for (const other of nodes) {
      if (other === id || await link.commands.exists(nodeAliveKey(other))) continue;
      const taken = await link.commands.set(sweepKey(other), id, { NX: true, PX: options.leaseMs });
      if (taken === null) continue;
      const rooms = await link.commands.hGetAll(ROOMS_KEY);
      for (const [key, name] of Object.entries(rooms)) {
        const members = await link.commands.hGetAll(roomKeys(key).members);
        for (const [holder, nick] of Object.entries(members)) {
          if (nodeOf(holder) !== other) continue;
          // Its nick is free before anyone hears it left, not whenever its lease would run out.
          await link.release(leaseKeys(nick), `${holder} ${nick}`);
          await this.node.events.publish({ key, name }, { t: "leave", m: holder, n: nick });
        }
      }
      await link.commands.sRem(NODES_KEY, other);
      options.log(`redis: node ${other} is gone; its members have left`);
    }
  }

  /**
   * Sends a private message to whoever holds the nick `to`, on whichever node; returns its holder
   * id, or null if nobody holds it.
   */
  async sendPrivate(
    to: string,
    message: ChatMessage,
    sender: string,
  ): Promise<{ holder: string; nick: string } | null> {
    const { link } = this.node;
    const lease = await leaseOf(link, to);
    if (lease === null) return null;
    const { holder, nick } = lease;
    const heard = await link.publish(
      nodeChannel(lease.node),
      JSON.stringify({ kind: "msg", h: holder, m: { ...message, to: nick }, s: sender }),
    );
    return heard > 0 ? { holder, nick } : null;
  }
}
