// The running server: accepts connections, serves each as a Session, and shuts down gracefully.
import { formatAddress, type Listener, runtime } from "./runtime.ts";
import { Chat } from "./room.ts";
import { Session, type SessionOptions } from "./session.ts";

export interface ServerOptions extends SessionOptions {
  hostname: string;
  port: number;
}

export class ChatServer {
  readonly chat = new Chat();
  /** Every open session, with the promise that settles when it has closed. */
  readonly sessions = new Map<Session, Promise<void>>();
  #listener: Listener;
  #options: ServerOptions;
  #accepting: Promise<void>;

  constructor(options: ServerOptions) {
    this.#options = options;
    this.#listener = runtime.listen(options.hostname, options.port);
    this.#accepting = this.#acceptLoop();
  }

  get hostname(): string {
    return this.#listener.hostname;
  }

  get port(): number {
    return this.#listener.port;
  }

  async #acceptLoop(): Promise<void> {
    for await (const conn of this.#listener) {
      const address = formatAddress(conn.remoteHost, conn.remotePort);
      this.#options.log(`connect ${address}`);
      const session = new Session(conn, this.chat, this.#options, address);
      this.sessions.set(session, session.run().finally(() => this.sessions.delete(session)));
    }
  }

  /**
   * Stops accepting, tells every member the server is going away, gives their queues the flush
   * time to drain, and resolves once every connection is closed.
   */
  async shutdown(): Promise<void> {
    this.#listener.close();
    await this.#accepting.catch((error) => this.#options.log(`accept loop failed: ${error}`));
    for (const session of this.sessions.keys()) {
      session.closeWith(
        { type: "error", code: "server_shutdown", message: "The server is shutting down" },
        "server shutdown",
      );
    }
    await Promise.all(this.sessions.values());
  }
}
