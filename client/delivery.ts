// What became of the messages a client sent, for a script's exit status (issue 17, item 12): each
// is answered by the server, with its echo or with an error, or may be lost with a connection that
// dropped before it was. A script exits 0 only when every line went out and none was refused or
// lost. No I/O.
// Errors about the connection rather than answers to what we sent: flood warns, then closes;
// kicked puts the member out of a room (and closes if it was the only one); the others close.
const CONNECTION_ERRORS = new Set([
  "kicked",
  "flood",
  "read_timeout",
  "hello_timeout",
  "idle_timeout",
  "too_many_connections",
  "send_queue_full",
  "server_shutdown",
  "internal_error",
]);

export class Delivery {
  #unanswered = 0; // messages sent on this connection, neither echoed nor refused yet
  #refused = 0;
  #lost = 0;

  /** A message went out. */
  sent(): void {
    this.#unanswered++;
  }

  /** The server echoed one of our messages. */
  echoed(): void {
    this.#unanswered = Math.max(0, this.#unanswered - 1);
  }

  /** The server sent an error with `code`: maybe a refusal of something we sent. */
  error(code: string): void {
    if (CONNECTION_ERRORS.has(code)) return;
    this.#refused++;
    this.echoed();
  }

  /** The connection is lost: what it had not answered may not have arrived. */
  lostConnection(): void {
    this.#lost += this.#unanswered;
    this.#unanswered = 0;
  }

  /** Why the run failed, for one line on leaving; null when everything arrived. */
  get problem(): string | null {
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    const problems = [];
    if (this.#refused > 0) {
      problems.push(`the server refused ${plural(this.#refused, "line")} (said above)`);
    }
    if (this.#lost > 0) {
      const lines = plural(this.#lost, "line");
      problems.push(`${lines} sent as the connection dropped may not have arrived`);
    }
    return problems.length > 0 ? problems.join("; ") : null;
  }
}

/** Why a script could not join, for one line: its nick, from `--nick` or its first line, or else. */
export function joinRefused(nick: string, fromInput: boolean, code: string, why: string): string {
  if (code !== "nick_taken" && code !== "bad_nick") {
    return `the server refused to let ${nick} join: ${why}; no line was sent`;
  }
  const given = fromInput ? `the nick "${nick}", the first line of input,` : `--nick ${nick}`;
  const instead = fromInput ? "start the input with another nick, or give --nick" : "give another";
  return `${given} was refused: ${why}; no line was sent: ${instead}`;
}
