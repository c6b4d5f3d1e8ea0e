// Moderation on a node of a cluster (moderation_site.ts says what a site is). A command about one
// member runs on the node that holds it: its nick's lease names the holder, `node:number`, and the
// node is asked on its own moderation channel, with a kind switch ("act", answered by "done"), as
// accounts.ts's regain channel does; it answers with the audit line's fields or the error for the
// operator. Announcements are room events (room_feed.ts, "notice"), so that every node's members
// hear them in the room's order; a ban is enforced by every node when it hears of it
// (moderation_store.ts), on its own members.
import type { Member, Room } from "../chat.ts";
import type { Asker } from "../handlers.ts";
import { ConnectionMutes } from "../connection_mutes.ts";
import { type Ban, type Moderation, type ModerationChange, SERVER_WIDE } from "../moderation.ts";
import type { RedisModerationStore } from "./moderation_store.ts";
import type {
  AuditFields,
  MemberRequest,
  ModerationSite,
  RoomRef,
  SiteHooks,
} from "../moderation_site.ts";
import { type ErrorCode, ProtocolError } from "../../protocol.ts";
import { clusterDown, leaseOf } from "./members.ts";
import type { ClusterNode } from "./node.ts";
import { NodeQuestions, orLate } from "./node_questions.ts";

/** Where a node is asked to act on one of its members, and answers the node that asked. */
export const moderationChannel = (node: string) => `parley:node:${node}:moderation`;

/** How long a node waits for another to answer before telling the operator it could not. */
export const ANSWER_MS = 5000;
/** How long a node asked to act waits to have applied what the asking node had (see #act). */
const CATCH_UP_MS = 2000;

type NodeMessage =
  | {
    kind: "act";
    id: number;
    from: string;
    holder: string;
    request: MemberRequest;
    /** The id of the room's last event the asking node had applied. */
    seen: number;
  }
  | { kind: "done"; id: number; fields?: AuditFields; error?: { code: string; message: string } };

type Done = Omit<Extract<NodeMessage, { kind: "done" }>, "kind" | "id">;

export class ClusterModerationSite implements ModerationSite {
  readonly mutes = new ConnectionMutes();
  readonly bansSpread = true;
  #hooks: SiteHooks | null = null;
  #questions = new NodeQuestions<Done>();

  constructor(
    readonly node: ClusterNode,
    readonly moderation: Moderation,
    readonly store: RedisModerationStore,
  ) {}

  /** Listens for what other nodes ask of this one. */
  async start(): Promise<void> {
    await this.node.link.subscribeJson<NodeMessage>(
      moderationChannel(this.node.id),
      "a moderation request",
      (message) => this.#heard(message),
    );
  }

  install(hooks: SiteHooks): void {
    this.#hooks = hooks;
    this.node.gate = hooks.gate;
    this.node.greeting = hooks.greeting;
    this.node.rooms.enforce = (ban) => this.#announced(ban);
  }

  // A room's ban, announced in the room's events: enforced on this node's members there. Its
  // change is published before its notice, but on a Redis Cluster on another shard's connection,
  // so it may not have come yet: then Redis says whether the ban still holds (the room's events
  // wait for the answer, to keep their order).
  async #announced(ban: Ban): Promise<void> {
    if (this.moderation.get(ban.scope, ban.kind, ban.mask)?.at !== ban.at) {
      const stored = await this.store.ban(ban.scope, ban.kind, ban.mask).catch(() => null);
      if (stored?.at !== ban.at) return; // lifted (or made again) since: that change says so
      this.moderation.heard({ kind: "ban", ban: stored });
    }
    this.#hooks?.enforce(ban);
  }

  /**
   * What moderation_store.ts heard. A ban of a room is enforced when its announcement comes in the
   * room's events (Rooms.enforce, #announced), so that the room hears of the ban before it hears
   * its members leave. A server-wide ban is announced to its maker only, so it is enforced on
   * hearing it; so is every ban when everything is read again (one may have been missed while the
   * link was down).
   */
  changed(change: ModerationChange): void {
    if (!this.#hooks) return;
    if (change.kind === "ban" && change.ban.scope === SERVER_WIDE) this.#hooks.enforce(change.ban);
    if (change.kind === "reset") {
      for (const ban of change.state.bans) this.#hooks.enforce(ban);
    }
  }

  members(): Iterable<Member> {
    return this.node.byHolder.values();
  }

  async announce(room: RoomRef, text: string, except?: Member, ban?: Ban): Promise<void> {
    const holding = except && this.node.holdings.get(except);
    const event = { t: "notice" as const, m: holding?.holder ?? "-", n: "-", x: text };
    await this.node.events.publish(room, ban ? { ...event, b: ban } : event);
  }

  part(member: Asker, room: Room): void {
    this.node.rooms.part(member, room.name);
  }

  leave(member: Asker): void {
    this.node.leave(member);
  }

  async onMember(nick: string, request: MemberRequest): Promise<AuditFields> {
    const hooks = this.#hooks!;
    const lease = await leaseOf(this.node.link, nick).catch(() => {
      throw clusterDown(`/${request.input.type} could not find ${nick}`);
    });
    if (lease === null) return hooks.act(request, null);
    const { holder, node } = lease;
    if (node === this.node.id) return hooks.act(request, this.node.byHolder.get(holder) ?? null);
    const room = { key: request.room.key, name: request.room.name }; // not this node's Room
    const done = await this.#questions.ask(
      this.node.link,
      moderationChannel(node),
      (id): NodeMessage => ({
        kind: "act",
        id,
        from: this.node.id,
        holder,
        request: { ...request, room },
        seen: this.node.rooms.lastIdOf(room.key),
      }),
      ANSWER_MS,
    ).catch(() => {
      throw clusterDown(`/${request.input.type} could not reach the server of ${nick}`);
    });
    // Its node is gone: its members with it, within a lease.
    if (done === "gone") return await hooks.act(request, null);
    if (done === "late") throw clusterDown(`the server of ${nick} did not answer`);
    if (done.error) throw new ProtocolError(done.error.code as ErrorCode, done.error.message);
    return done.fields ?? {};
  }

  #heard(message: NodeMessage): void {
    switch (message.kind) {
      case "act":
        this.#act(message).catch((error) => {
          this.node.options.log(`redis: a moderation request failed: ${error}`);
        });
        return;
      case "done":
        return this.#questions.answered(message.id, message);
    }
  }

  // Runs another node's request on this node's member, and answers it. The operator acted on the
  // room as its node had it: this node first applies as much (its member's join, which the
  // operator saw, may still be on its way here, or in its last steps), bounded.
  async #act(message: Extract<NodeMessage, { kind: "act" }>): Promise<void> {
    await orLate(
      this.node.rooms.reachedIn(message.request.room.key, message.seen ?? 0),
      CATCH_UP_MS,
    );
    const target = this.node.byHolder.get(message.holder) ?? null;
    let answer: NodeMessage;
    try {
      const fields = await this.#hooks!.act(message.request, target);
      answer = { kind: "done", id: message.id, fields };
    } catch (error) {
      // The operator hears why, or that it was not done (this node logs what failed).
      if (!(error instanceof ProtocolError)) this.node.options.log(`moderation failed: ${error}`);
      const { code, message: text } = error instanceof ProtocolError
        ? error
        : clusterDown(`the server of ${message.request.input.nick} could not do it`);
      answer = { kind: "done", id: message.id, error: { code, message: text } };
    }
    await this.node.link.publish(moderationChannel(message.from), JSON.stringify(answer));
  }
}
