// The running server: accepts connections, serves each as a Session, sweeps for quiet ones, and
// shuts down gracefully.
import { type Connection, formatAddress, type Listener, type Transport } from "../runtime.ts";
import { Chat } from "./chat.ts";
import { History, type HistoryOptions } from "./history.ts";
import { Session, type SessionOptions } from "./session.ts";
import { ProtocolError } from "../protocol.ts";
import type { Snapshot } from "./metrics.ts";
import { type ChatService, localService } from "./handlers.ts";
import type { Accounts } from "./accounts.ts";
import { moderatedService, type ModerationOptions } from "./moderation_handlers.ts";
import { bannedFromServer } from "./moderation_members.ts";
import { SERVER_WIDE } from "./moderation.ts";
import { localSite } from "./moderation_site.ts";

const ACCEPT_RETRY_MS = 100;
// A sweep this much later than its time means the server itself was held up (a loaded machine, a
// long pause, a stopped process): input that came meanwhile may be waiting unread.
const HELD_UP_MS = 100;

export interface ServerOptions extends SessionOptions {
  /** Connections served at once; past it a new one is turned away, in its own mode. */
  maxClients: number;
  /**
   * Connections open at once, counting those being turned away: each holds a file descriptor
   * (server.ts sets this from the process's limit). Past it a new one is closed at once,
   * unanswered, so that accepting never runs out of descriptors. Infinity for no such limit.
   */
  maxConnections: number;
  /** Connections from one address at once; 0 for no limit. */
  maxPerAddress: number;
  history: HistoryOptions;
  /** Bans, operators, topics and the message of the day; none for a server without them. */
  moderation?: ModerationOptions;
  /** Refuse passwords on connections without encryption (--identify-needs-tls). */
  passwordsNeedTls?: boolean;
  /**
   * With `service` (a node of a cluster) and passwordsNeedTls: the service for connections
   * without encryption, which refuses every password (cluster/plain_text.ts).
   */
  plainTextService?: ChatService;
}

export class ChatServer {
  readonly chat: Chat;
  #history: History;
  /** Every open session, with the promise that settles when it has closed. */
  readonly sessions = new Map<Session, Promise<void>>();
  #perAddress = new Map<string, number>();
  #turningAway = 0; // sessions among `sessions` that were refused and are closing
  #listeners: readonly Listener[];
  #options: ServerOptions;
  #webOptions: ServerOptions; // a WebSocket member speaks native JSON, whatever --mode says
  // With --identify-needs-tls, what connections without encryption are told: accounts that refuse
  // every password (accounts.ts, overPlainText).
  #plainOptions: ServerOptions;
  #plainWebOptions: ServerOptions;
  #accepting: Promise<void>;
  #sweeper: ReturnType<typeof setInterval>;
  #sweepMs: number;
  #lastSweepAt: number;
  #skippedSweep = false;
  #acceptFailing = false; // logged once until an accept succeeds again

  /** Serves every connection that `listeners` accept, each in the mode the options say. */
  constructor(listeners: readonly Listener[], options: ServerOptions) {
    this.#history = new History(options.history);
    this.chat = new Chat(this.#history);
    // Every member's input passes moderation first: who may send it, bans, mutes; on a node of a
    // cluster, through the node's site (cluster/moderation_site.ts), else through this Chat.
    // With --identify-needs-tls, connections without encryption are served with accounts that
    // refuse every password (accounts.ts, overPlainText).
    const site = options.moderation?.site ?? localSite(this.chat);
    const serviceFor = (accounts: Accounts | undefined, plain = false): ChatService => {
      const given = plain ? options.plainTextService ?? options.service : options.service;
      const inner = given ?? localService(this.chat, accounts ?? null);
      return options.moderation ? moderatedService(inner, site, options.moderation) : inner;
    };
    this.#options = { ...options, service: serviceFor(options.accounts) };
    this.#webOptions = { ...this.#options, mode: "native" };
    const plainAccounts = options.passwordsNeedTls
      ? options.accounts?.overPlainText()
      : options.accounts;
    const plain = {
      accounts: plainAccounts,
      service: serviceFor(plainAccounts, options.passwordsNeedTls),
    };
    this.#plainOptions = { ...this.#options, ...plain };
    this.#plainWebOptions = { ...this.#webOptions, ...plain };
    this.#listeners = listeners;
    this.#accepting = Promise.all(listeners.map((listener) => this.#acceptLoop(listener)))
      .then(() => {});
    // Often enough that no limit is overrun by more than a quarter of itself.
    const limits = Object.values(options.liveness).filter((ms) => ms > 0);
    this.#sweepMs = Math.max(50, Math.min(1000, Math.min(...limits) / 4));
    this.#lastSweepAt = performance.now();
    this.#sweeper = setInterval(() => this.#sweep(), this.#sweepMs);
  }

  // Accepting must outlive any one connection's trouble, and even the listener's: a failed accept
  // (out of file descriptors, say) is logged once, and accepting starts again a moment later, never
  // at once, which would spin.
  async #acceptLoop(listener: Listener): Promise<void> {
    while (true) {
      try {
        for await (const conn of listener) {
          this.#acceptFailing = false;
          const transport = listener.transport ?? "tcp";
          this.#serve(conn, transport, listener.secure ?? transport === "tls");
        }
        return; // the listener was closed
      } catch (error) {
        if (!this.#acceptFailing) {
          this.#options.log(`accept failed: ${error}; retrying every ${ACCEPT_RETRY_MS} ms`);
        }
        this.#acceptFailing = true;
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
      }
    }
  }

  #serve(conn: Connection, transport: Transport, secure: boolean): void {
    const address = formatAddress(conn.remoteHost, conn.remotePort);
    if (this.sessions.size >= this.#options.maxConnections) {
      // Even the room kept for answering refusals is taken: answering needs the connection's mode,
      // and waiting for it would hold one more descriptor than there is.
      this.#options.log(`refused ${address}: no file descriptor to spare`);
      return conn.close();
    }
    this.#options.log(`connect ${address}`);
    const options = transport === "ws"
      ? (secure ? this.#webOptions : this.#plainWebOptions)
      : (secure ? this.#options : this.#plainOptions);
    const session = new Session(conn, this.chat, options, address, transport);
    const refusal = this.#admit(conn.remoteHost);
    if (refusal) session.refuse(refusal);
    if (refusal) this.#turningAway++;
    const fromHost = (this.#perAddress.get(conn.remoteHost) ?? 0) + 1;
    this.#perAddress.set(conn.remoteHost, fromHost);
    this.sessions.set(
      session,
      session.run().finally(() => {
        this.sessions.delete(session);
        if (refusal) this.#turningAway--;
        const left = this.#perAddress.get(conn.remoteHost)! - 1;
        if (left === 0) this.#perAddress.delete(conn.remoteHost);
        else this.#perAddress.set(conn.remoteHost, left);
      }),
    );
  }

  // Why a new connection from `host` must be turned away, or null if it may stay.
  #admit(host: string): ProtocolError | null {
    const { maxClients, maxPerAddress } = this.#options;
    const subject = { nick: null, account: null, host: host.replace(/^\[|\]$/g, "") };
    const ban = this.#options.moderation?.moderation?.find(SERVER_WIDE, "ban", subject);
    if (ban) return bannedFromServer(ban);
    if (this.sessions.size - this.#turningAway >= maxClients) {
      return new ProtocolError(
        "too_many_connections",
        `The server is full (${maxClients} connections); try again later`,
        true,
      );
    }
    if (maxPerAddress > 0 && (this.#perAddress.get(host) ?? 0) >= maxPerAddress) {
      return new ProtocolError(
        "too_many_connections",
        `Too many connections from ${host} (at most ${maxPerAddress})`,
        true,
      );
    }
    return null;
  }

  #sweep(): void {
    // Timers run on real time, whatever clock the options give liveness.
    const firedAt = performance.now();
    const lateMs = firedAt - this.#lastSweepAt - this.#sweepMs;
    if (this.#options.metrics) {
      this.#options.metrics.eventLoopLagSeconds = Math.max(0, lateMs) / 1000;
    }
    const late = lateMs > HELD_UP_MS;
    this.#lastSweepAt = firedAt;
    // Held up: what members sent meanwhile is read before anyone is judged silent. Only once in
    // a row, so that a server kept busy still closes the connections that are really quiet.
    this.#skippedSweep = late && !this.#skippedSweep;
    if (this.#skippedSweep) return;
    const now = this.#options.clock();
    for (const session of this.sessions.keys()) session.checkLiveness(now);
  }

  /** The numbers of /metrics that are read from the state rather than counted. */
  snapshot(): Snapshot {
    const connections = new Map<string, number>();
    for (const session of this.sessions.keys()) {
      const key = `${session.transport} ${session.mode ?? "none"}`;
      connections.set(key, (connections.get(key) ?? 0) + 1);
    }
    return { connections, rooms: this.chat.roomCount, members: this.chat.memberCount };
  }

  /**
   * Stops accepting, tells every member the server is going away, gives their queues the flush
   * time to drain, and resolves once every connection is closed.
   */
  async shutdown(): Promise<void> {
    for (const listener of this.#listeners) listener.close();
    clearInterval(this.#sweeper);
    await this.#accepting.catch((error) => this.#options.log(`accept loop failed: ${error}`));
    for (const session of this.sessions.keys()) {
      session.closeWith(
        { type: "error", code: "server_shutdown", message: "The server is shutting down" },
        "server shutdown",
      );
    }
    await Promise.all(this.sessions.values());
    this.#history.close();
  }
}
