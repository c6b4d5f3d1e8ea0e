// /whois on a node of a cluster, and the away answer to a private message that crosses nodes
// (/away itself is the one server's: it sets the member's own session). A member's away message, idle time, rooms and account live in its own session, on its own
// node, as on one server; nothing of them is copied to Redis. /whois asks the node that serves the
// nick (found from its lease) over that node's channel, and waits at most WHOIS_TIMEOUT_MS for the
// answer. Why asking rather than a presence hash per member kept in Redis: the hash would have to
// change with every message for `idle` to be true (a Redis write per chat message, which the
// cluster never pays), or hold a last-spoke time written per message all the same; asking costs
// three Redis operations per /whois, which is rare, and reads everything live from the session.
// The away answer goes the other way: the node of the member who is away sees each private message
// it delivers, and sends the sender's node an `away` note, once per sender and away period.
import { type ChatMessage, ProtocolError, type Whois } from "../../protocol.ts";
import type { Asker } from "../handlers.ts";
import { awayNote, joined, noSuchNick, whoisOf } from "../social_handlers.ts";
import { nodeChannel } from "./redis_link.ts";
import { clusterDown, leaseOf, nodeOf } from "./members.ts";
import type { ClusterNode } from "./node.ts";
import { NodeQuestions } from "./node_questions.ts";

/** How long /whois waits for the node of the member asked about (a frozen node never answers). */
export const WHOIS_TIMEOUT_MS = 2000;

/**
 * What this file sends over a node's channel (upkeep.ts routes them here by `kind`): a question
 * about this node's member `h` from node `r`, numbered `id` there; its answer (null: no longer
 * here); and the away message of `nick`, for the sender `h` of a private message to it.
 */
export type SocialNote =
  | { kind: "whois"; h: string; r: string; id: number }
  | { kind: "whois_answer"; id: number; w: Whois | null }
  | { kind: "away"; h: string; nick: string; text: string };

export class ClusterSocial {
  #questions = new NodeQuestions<Whois | null>();

  constructor(readonly node: ClusterNode) {}

  /** /whois NICK, for a member on any node. */
  async whois(asker: Asker, nick: string): Promise<void> {
    joined(asker, "/whois");
    const { link, id } = this.node;
    const lease = await leaseOf(link, nick).catch(() => {
      throw clusterDown(`/whois ${nick} could not be asked`);
    });
    if (lease === null) throw noSuchNick(nick);
    const { holder, node } = lease;
    if (node === id) return answerWith(asker, nick, this.#answer(holder));
    const answer = await this.#questions.ask(
      link,
      nodeChannel(node),
      (asked): SocialNote => ({ kind: "whois", h: holder, r: id, id: asked }),
      WHOIS_TIMEOUT_MS,
    ).catch(() => {
      throw clusterDown(`/whois ${nick} could not be asked`);
    });
    // Nobody listens on a node's channel once it is gone: its lease is stale.
    if (answer === "gone") throw noSuchNick(nick);
    if (answer === "late") {
      throw new ProtocolError(
        "cluster_down",
        `The server that serves ${nick} did not answer within ${WHOIS_TIMEOUT_MS / 1000} s; ` +
          "try again",
      );
    }
    answerWith(asker, nick, answer);
  }

  /**
   * After this node delivered `message` to `target`, its member `holder`, from the member `sender`
   * (a holder id, on any node): the sender hears that `target` is away, as on one server (awayNote).
   */
  answerAway(target: Asker, holder: string, message: ChatMessage, sender: string | undefined) {
    if (sender === undefined || sender === holder) return;
    const away = awayNote(target, message.from);
    if (away === null) return;
    const note: SocialNote = { kind: "away", h: sender, nick: away.nick, text: away.text };
    if (nodeOf(sender) === this.node.id) return this.heard(note);
    this.node.link.publish(nodeChannel(nodeOf(sender)), JSON.stringify(note)).catch(() => {
      // The link is down: the sender was told so, and the away answer is only a courtesy.
    });
  }

  /** A note of this file's kinds, come over this node's channel. */
  heard(note: SocialNote): void {
    switch (note.kind) {
      case "whois": {
        const answer: SocialNote = { kind: "whois_answer", id: note.id, w: this.#answer(note.h) };
        this.node.link.publish(nodeChannel(note.r), JSON.stringify(answer)).catch(() => {
          // The asking node gives up after WHOIS_TIMEOUT_MS and says so.
        });
        break;
      }
      case "whois_answer":
        this.#questions.answered(note.id, note.w);
        break;
      case "away":
        this.node.byHolder.get(note.h)?.sendMessage({
          type: "away",
          nick: note.nick,
          text: note.text,
        });
        break;
    }
  }

  // What this node's member `holder` looks like to /whois, or null if it is no longer here.
  #answer(holder: string): Whois | null {
    const member = this.node.byHolder.get(holder);
    return member && member.nick !== null ? whoisOf(member) : null;
  }
}

function answerWith(asker: Asker, nick: string, answer: Whois | null): void {
  if (answer === null) throw noSuchNick(nick);
  asker.sendMessage(answer);
}
