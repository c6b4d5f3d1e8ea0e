// --identify-grace on a node of a cluster: a client that cannot put a password in its greeting
// (the nickname-first tutorial client at the line-mode port, the classic tutorial client) and
// greets with a registered nick gets it for the grace, as on one server (server/identify_grace.ts
// has the rule and the timer). Here the nick is a lease in Redis: while such a member greets, the
// node's guard (ClusterAccounts.guard) lets a registered nick through for it, and once the grace
// is over without /identify the member takes a guest lease, and every room it is in hears the
// rename on every node. Whoever gives the nick's password meanwhile, on any node, takes it back at
// once (REGAIN, accounts.ts).
import type { Member } from "../chat.ts";
import type { Asker } from "../handlers.ts";
import { graceTimer } from "../identify_grace.ts";
import type { ProtocolError } from "../../protocol.ts";
import type { ClusterNode } from "./node.ts";

export class ClusterGrace {
  // Members whose greeting is being claimed: their registered nick is let through, for a grace.
  #greeting = new WeakSet<Member>();
  // The registered nick let through for each: its grace starts once it is in its first room.
  #granted = new WeakMap<Member, string>();

  constructor(readonly node: ClusterNode) {}

  /** Runs `claim`, the lease of a greeting's nick for `member`, with a grace if there is one. */
  async greeting<T>(member: Member, claim: () => Promise<T>): Promise<T> {
    if (this.node.accounts.accounts.graceMs <= 0) return await claim();
    this.#greeting.add(member);
    try {
      return await claim();
    } finally {
      this.#greeting.delete(member);
    }
  }

  /** Whether the guard's refusal `error` of `nick` to `member` is waived: it greets, for a grace. */
  waives(member: Member, nick: string, error: ProtocolError): boolean {
    if (error.code !== "nick_registered" || !this.#greeting.has(member)) return false;
    this.#granted.set(member, nick);
    return true;
  }

  /** Once `asker` is in: the grace starts if it holds the registered nick it greeted with. */
  start(asker: Asker): void {
    const nick = this.#granted.get(asker);
    this.#granted.delete(asker);
    if (nick === undefined || asker.nick !== nick) return;
    const { accounts } = this.node.accounts;
    graceTimer(asker, accounts, async () => {
      if (asker.nick !== nick) return null;
      await this.node.claimGuest(asker);
      const guest = asker.nick!;
      await this.node.announceRename(asker, nick, guest);
      return guest;
    });
  }
}
