// Mutes that hold for the connection they were given to, as well as for their mask. A mute names
// an account, or else a nick, and a member without an account could shed a nick mute by taking
// another nick (or one with an account by logging in to another): so the muted connection keeps
// the mute whatever it is called from then on, for as long as the mute itself holds. Not its
// address, which others may share (a NAT, a proxy, a host of users); an address is banned instead.
// The mute itself stays one record (moderation.ts): lifting it, or its running out, frees both.
import type { Member } from "./chat.ts";
import type { Ban, Moderation } from "./moderation.ts";

/** Where a mute was given: its scope and its canonical mask. */
interface Given {
  scope: string;
  mask: string;
}

/** The mutes each connection was given, remembered for as long as the connection lives. */
export class ConnectionMutes {
  #given = new WeakMap<Member, Given[]>();

  /** Remembers that `member` was muted by `ban`. */
  remember(member: Member, ban: Ban): void {
    const given = this.#given.get(member) ?? [];
    if (!given.some(({ scope, mask }) => scope === ban.scope && mask === ban.mask)) {
      given.push({ scope: ban.scope, mask: ban.mask });
    }
    this.#given.set(member, given);
  }

  /** The mute given to `member` in `scope` that still holds, if any. */
  find(moderation: Moderation, member: Member, scope: string): Ban | null {
    for (const mask of this.masks(member, scope)) {
      const mute = moderation.get(scope, "mute", mask);
      if (mute) return mute;
    }
    return null;
  }

  /** The masks of the mutes given to `member` in `scope` (held or not: lifting finds them). */
  masks(member: Member, scope: string): string[] {
    return (this.#given.get(member) ?? []).filter((given) => given.scope === scope)
      .map(({ mask }) => mask);
  }
}
