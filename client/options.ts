// What a ChatClient is told at its start (chat_client.ts): where the server is, who to be, and how
// long to try; and how to connect, the runtime's way or a test's.
import type { Connection } from "../runtime.ts";
import type { IgnoreStore } from "./hello.ts";

/** Opens a connection to the server; rejects with why it cannot. */
export type Connect = (host: string, port: number) => Promise<Connection>;

export interface ChatClientOptions {
  host: string;
  port: number;
  nick?: string;
  room?: string;
  /** Someone can give another nick when one is refused: a person, or a script without --nick. */
  canAskForNick: boolean;
  /** How long to keep trying to reconnect; 0 for never. */
  reconnectMs: number;
  /** How long the server has to answer each new connection before it counts as lost. */
  answerTimeoutMs?: number;
  /** The password of the nick's account, from PARLEY_PASSWORD: given in the hello. */
  password?: string;
  /**
   * The remote host the client reaches without TLS, when the user has not allowed passwords to go
   * there in clear (--allow-plain-password): then the client sends none.
   */
  plainTo?: string;
  /** Whether live lines say when they were said, as history does (/timestamps toggles it). */
  timestamps?: boolean;
  /** Where the nicks the user ignores are kept across reconnects and runs; none: not kept. */
  ignored?: IgnoreStore;
}
