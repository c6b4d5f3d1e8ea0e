// What the social inputs do: away, whois, ignore and unignore, the away answer to a private
// message, and a hello's list of nicks to ignore. The state is social.ts; these answer the member.
import type { Chat, Member } from "./chat.ts";
import type { Asker } from "./handlers.ts";
import type { Input } from "./wire.ts";
import { MAX_IGNORED, ProtocolError, type ServerMessage, type Whois } from "../protocol.ts";

export type SocialInput = Extract<Input, { type: "away" | "whois" | "ignore" | "unignore" }>;
type AwayNote = Extract<ServerMessage, { type: "away" }>;

/** Acts on a social input from `asker`; throws ProtocolError for what it cannot do. */
export function handleSocial(chat: Chat, asker: Asker, input: SocialInput): void {
  const { social } = asker;
  switch (input.type) {
    case "away":
      joined(asker, "/away");
      asker.sendMessage({ type: "notice", text: social.setAway(input.text) });
      break;
    case "whois":
      joined(asker, "/whois");
      asker.sendMessage(whois(chat, input.nick));
      break;
    case "ignore":
      if (input.nick !== undefined) social.ignore(input.nick, asker.nick);
      asker.sendMessage({ type: "ignoring", nicks: social.ignoredNicks });
      break;
    case "unignore":
      social.unignore(input.nick);
      asker.sendMessage({ type: "ignoring", nicks: social.ignoredNicks });
      break;
  }
}

/** Away and whois are for members: a connection that has not joined has no one to be away as. */
export function joined(asker: Asker, command: string): void {
  if (asker.nick === null) {
    throw new ProtocolError("not_joined", `Send "hello" with your nick before ${command}`);
  }
}

// What /whois tells of `nick` on a server that holds every member: never its address.
function whois(chat: Chat, nick: string): ServerMessage {
  // Every member a server's Chat holds is one of its sessions, and so an Asker.
  const target = chat.member(nick) as Asker | undefined;
  if (!target || target.nick === null) throw noSuchNick(nick);
  return whoisOf(target);
}

/** The refusal of a /whois (or private message) to a nick nobody has. */
export const noSuchNick = (nick: string) =>
  new ProtocolError("no_such_nick", `Nobody here is called ${nick}`);

/**
 * The `whois` answer about `target`, a joined member, read from its own session: one server's
 * whois, and, on a node of a cluster, the answer of the node that serves it (cluster/social.ts).
 */
export function whoisOf(target: Asker): Whois {
  const { social } = target;
  return {
    type: "whois",
    nick: target.nick!,
    ...(target.account === null ? {} : { account: target.account }),
    rooms: [...target.rooms].map((room) => room.name),
    since: social.since,
    idle: Math.max(0, Math.floor((Date.now() - social.spoke) / 1000)),
    transport: target.transport,
    mode: target.mode ?? "native",
    ...(social.away === null ? {} : { away: social.away }),
  };
}

/**
 * After a private message from `asker` to `to` went out: the sender hears that `to` is away, once
 * per away period, unless `to` ignores it (an ignored sender learns nothing of the one it writes to).
 */
export function answerAway(chat: Chat, asker: Asker, to: string): void {
  const target = chat.member(to);
  if (!target || target === asker) return;
  const note = awayNote(target, asker.nick!);
  if (note) asker.sendMessage(note);
}

/**
 * What `target` being away tells `from`, who sent it a private message: once per away period, and
 * nothing to a sender it ignores. Null when there is nothing to tell.
 */
export function awayNote(target: Member, from: string): AwayNote | null {
  const { social } = target;
  if (!social || social.ignores(from) || !social.tellAway(from)) return null;
  return { type: "away", nick: target.nick!, text: social.away! };
}

/** A hello's `ignore` list, applied before the member joins, so the replay is filtered too. */
export function ignoreFromHello(asker: Asker, nicks: string[] | undefined): void {
  if (nicks === undefined || asker.nick !== null) return; // a second hello is refused anyway
  if (nicks.length > MAX_IGNORED) {
    throw new ProtocolError("too_many_ignored", `A hello may ignore at most ${MAX_IGNORED} nicks`);
  }
  for (const nick of nicks) {
    try {
      asker.social.ignore(nick, null);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      throw new ProtocolError(error.code, `Cannot ignore ${nick}: ${error.message}`);
    }
  }
}
