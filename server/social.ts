// What one member shows and hides of the others, with no I/O: its away message, which senders have
// been told it, and the nicks it ignores. Each Session holds one (Member.social); Chat's broadcast
// (room.ts) skips a member that ignores the sender, handlers (social_handlers.ts) change it, and
// Chat's rename moves an ignore to the new nick (followRename).
import {
  cleanText,
  MAX_AWAY_CHARS,
  MAX_IGNORED,
  nameKey,
  nickProblem,
  ProtocolError,
  type ServerMessage,
} from "../protocol.ts";
import { deliver, type Member } from "./room.ts";

export class Social {
  /** What the member said when it went away, or null while it is here. */
  away: string | null = null;
  /**
   * The nameKeys of the nicks it ignores, each with the nick as it was given; null for none, so
   * that a delivery to a member who ignores nobody costs one comparison.
   */
  ignored: Map<string, string> | null = null;
  /** When it last said something, in ms since the Unix epoch: /whois counts its idle time from it. */
  spoke: number;
  // The nameKeys of the senders told this away message already: each is told once per away period,
  // as a person who writes three lines to someone at lunch needs to read "at lunch" once.
  #told = new Set<string>();

  /** `since`: when the member connected, in ms since the Unix epoch. */
  constructor(readonly since: number) {
    this.spoke = since;
  }

  /** Goes away with `text`, or, for none, comes back; returns what the member is told. */
  setAway(text: string | undefined): string {
    const said = cleanText(text ?? "").trim();
    if ([...said].length > MAX_AWAY_CHARS) {
      throw new ProtocolError(
        "text_too_long",
        `An away message has at most ${MAX_AWAY_CHARS} characters`,
      );
    }
    this.away = said === "" ? null : said;
    this.#told.clear();
    return this.away === null ? "you are back" : `you are away: ${this.away}`;
  }

  /** Whether a private message from `sender` should be answered with the away message: once each. */
  tellAway(sender: string): boolean {
    if (this.away === null) return false;
    const key = nameKey(sender);
    if (this.#told.has(key)) return false;
    this.#told.add(key);
    return true;
  }

  /** Whether the member ignores `nick`. */
  ignores(nick: string): boolean {
    return this.ignored !== null && this.ignored.has(nameKey(nick));
  }

  /** Ignores `nick` too; `me` is the member's own nick, which it cannot ignore. */
  ignore(nick: string, me: string | null): void {
    const problem = nickProblem(nick);
    if (problem) throw new ProtocolError("bad_nick", problem);
    const key = nameKey(nick);
    if (me !== null && key === nameKey(me)) {
      throw new ProtocolError("bad_nick", "You cannot ignore yourself");
    }
    this.ignored ??= new Map();
    if (this.ignored.has(key)) return;
    if (this.ignored.size >= MAX_IGNORED) {
      throw new ProtocolError(
        "too_many_ignored",
        `You ignore ${MAX_IGNORED} nicks already; /unignore one first`,
      );
    }
    this.ignored.set(key, nick);
  }

  /** Stops ignoring `nick`, if it did. */
  unignore(nick: string): void {
    this.ignored?.delete(nameKey(nick));
    if (this.ignored?.size === 0) this.ignored = null;
  }

  /**
   * `from` is `to` now: if the member ignores `from`, it ignores `to` instead, in the same place in
   * its list, and no longer `from`, which someone else may take. Returns whether it did.
   */
  renamed(from: string, to: string): boolean {
    const [key, toKey] = [nameKey(from), nameKey(to)];
    if (this.ignored === null || !this.ignored.has(key)) return false;
    // Where it ignored `to` as well (a nick nobody had), that entry goes: `to` is in `from`'s place.
    const entries = [...this.ignored].flatMap(([each, nick]): [string, string][] =>
      each === key ? [[toKey, to]] : each === toKey ? [] : [[each, nick]]
    );
    this.ignored = new Map(entries);
    return true;
  }

  /** The nicks it ignores, as given, in the order given. */
  get ignoredNicks(): string[] {
    return this.ignored === null ? [] : [...this.ignored.values()];
  }
}

/**
 * The member once called `from` is `to` now: each of `members` but it that ignored `from` ignores
 * `to` instead, and is sent its new list (after the rename itself, where it sees that). As ssh-chat
 * ignores a user rather than a name, the ignore stays with the person, and whoever takes the nick
 * afterwards is heard. Every member is asked, in the renamed member's rooms or not: left on the old
 * nick, an ignore would fall on its next holder.
 */
export function followRename(
  members: Iterable<Member>,
  renamed: Member | undefined,
  from: string,
  to: string,
): void {
  for (const member of members) {
    const social = member.social;
    if (member === renamed || !social?.renamed(from, to)) continue;
    const list: ServerMessage = { type: "ignoring", nicks: social.ignoredNicks };
    deliver(list, [member]);
  }
}
