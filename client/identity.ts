// The password of the user's registered nick, as the client keeps it: in memory only, given again
// in the hello of every reconnect, so that a dropped connection or a server restarted with --data
// does not cost the user their nick. It is learned from PARLEY_PASSWORD, from the prompt after the
// server refuses a registered nick, or from /register, /identify, /login and /passwd once the
// server accepts them. It never goes in clear to a remote server unless the user allowed it.
import type { ClientMessage } from "../protocol.ts";
import type { ChatClientOptions } from "./options.ts";
import { notice } from "./format.ts";
import type { TypedLine } from "./typed_line.ts";
import type { Ui } from "./ui.ts";

/** What Identity needs of the client. */
export interface IdentityHands {
  send(message: ClientMessage): void;
  /** Sends a ping; `then` runs on its pong, which comes after the answers to all sent before. */
  ping(then: () => void): void;
  /** Acts on `text` as if typed, now. */
  chat(text: string): void;
  /** Puts the client's own prompt back. */
  restorePrompt(): void;
}

// The errors that say an account input failed: its password is not the account's.
const ACCOUNT_ERRORS = new Set([
  "bad_password",
  "wrong_password",
  "already_registered",
  "not_registered",
  "login_throttled",
  "no_accounts",
  "not_identified",
  "not_joined",
  "storage_busy",
  "tls_required",
]);

export const PASSWORD_PROMPT = "password: ";

// What refuses a hello that rejoins after a reconnect: the nick's password, which a person may
// give again. Anything else there (the server shutting down, say) is shown, and reconnecting goes
// on.
const REJOIN_REFUSALS = new Set([
  "nick_registered",
  "wrong_password",
  "login_throttled",
  "tls_required",
]);

/** Whether an error with `code`, in the client's `phase`, is the refusal of its hello. */
export function helloRefused(phase: string, code: string): boolean {
  return phase === "joining" || (phase === "rejoining" && REJOIN_REFUSALS.has(code));
}

/** The password of the user's account, and the prompt that asks for one. */
export class Identity {
  #password: string | null;
  // Account inputs sent, oldest first, each with the password it leaves the account with (null
  // for unregister), and whether the server refused it.
  #pending: Array<{ password: string | null; failed: boolean }> = [];
  #answer: ((password: string) => void) | null = null;

  readonly plainTo: string | null;

  /** Its first password is the one the client is started with (PARLEY_PASSWORD), if any. */
  constructor(readonly ui: Ui, readonly hands: IdentityHands, options: ChatClientOptions) {
    this.#password = options.password ?? null;
    this.plainTo = options.plainTo ?? null;
  }

  /**
   * Acts on a typed line that is about passwords: an account input, held back when it would go in
   * clear, else sent and followed to its answer; or /register or /identify without a password,
   * which a person is asked for. True if it did; the client deals with any other line.
   */
  typed(typed: TypedLine | null): boolean {
    const ui = this.ui;
    if (typed?.type === "ask-password") {
      if (!ui.interactive) ui.show(notice(`* usage: ${typed.command.usage}`));
      else {
        this.#ask((password) => {
          if (password !== "") this.hands.chat(`${typed.command.name} ${password}`);
        });
      }
      return true;
    }
    if (typed?.type !== "send" || !carriesPassword(typed.message)) return false;
    if (this.refusal) {
      ui.show(notice(`* ${this.refusal}`));
      return true;
    }
    this.hands.send(typed.message);
    this.#sent(typed.message);
    this.hands.ping(() => this.#settled());
    return true;
  }

  /**
   * The hello was refused with `code`. For a registered nick (or a wrong password) a person is
   * asked for the password, and `hello` is sent again with it, or `giveUp` runs if none is typed;
   * true then. False when nobody can be asked, or the password could not be sent.
   */
  refused(code: string, hello: () => void, giveUp: () => void): boolean {
    if (code !== "nick_registered" && code !== "wrong_password") return false;
    if (this.refusal) this.ui.show(notice(`* ${this.refusal}`));
    if (!this.ui.interactive || this.refusal) return false;
    this.#ask((password) => {
      if (password === "") return giveUp();
      this.#password = password;
      hello();
    });
    return true;
  }

  /**
   * What a hello carries: the password, when there is one to give. A hello starts a connection:
   * the answers to account inputs sent on the one before will never come.
   */
  hello(): { password?: string } {
    this.#pending = [];
    return this.#password === null || this.plainTo !== null ? {} : { password: this.#password };
  }

  /** Why a password must not be sent now, or null: TLS, loopback, or the user's leave. */
  get refusal(): string | null {
    if (this.plainTo === null) return null;
    return `not sending a password in clear to ${this.plainTo}: ` +
      "connect with --tls, or allow it with --allow-plain-password";
  }

  // An account input went out; the pong after it says the server has answered it.
  #sent(message: ClientMessage): void {
    const password = "password" in message && message.type !== "unregister"
      ? message.password ?? null
      : null;
    this.#pending.push({ password, failed: false });
  }

  /** The server sent an error with `code`: if it is an account input's, that input failed. */
  error(code: string): void {
    if (ACCOUNT_ERRORS.has(code) && this.#pending.length > 0) this.#pending[0].failed = true;
  }

  // The oldest account input has been answered: if it was accepted, its password is kept.
  #settled(): void {
    const input = this.#pending.shift();
    if (input && !input.failed) this.#password = input.password;
  }

  /** Whether the next line typed is a password. */
  get asking(): boolean {
    return this.#answer !== null;
  }

  // Asks for a password without echo; `then` gets the next line typed, "" to give up.
  #ask(then: (password: string) => void): void {
    this.#answer = then;
    this.ui.setSecret(true);
    this.ui.setPrompt(PASSWORD_PROMPT);
  }

  /** The line typed at the password prompt. */
  answer(text: string): void {
    const then = this.#answer!;
    this.#answer = null;
    this.ui.setSecret(false);
    this.hands.restorePrompt();
    then(text);
  }
}

/** Whether `message` carries a password: an account input. */
function carriesPassword(message: ClientMessage): boolean {
  return ["register", "identify", "login", "passwd", "unregister"].includes(message.type);
}
