// What one member shows and hides of the others, with no I/O: its away message, which senders have
// been told it, and the nicks it ignores. Each Session holds one (Member.social); Chat's broadcast
// (room.ts) skips a member that ignores the sender, and handlers (social_handlers.ts) change it.
import {
  cleanText,
  MAX_AWAY_CHARS,
  MAX_IGNORED,
  nameKey,
  nickProblem,
  ProtocolError,
} from "../protocol.ts";

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

  /** The nicks it ignores, as given, in the order given. */
  get ignoredNicks(): string[] {
    return this.ignored === null ? [] : [...this.ignored.values()];
  }
}
