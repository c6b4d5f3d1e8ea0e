// The grace given to a person who greets with a registered nick from a client that cannot put a
// password in its greeting: the nickname-first tutorial client (line mode) and the classic
// tutorial client (legacy). Issue 20 asks that such a guest be "refused, or renamed after a short
// grace period if it does not identify": with --identify-grace S they keep the nick for S seconds,
// told to /identify, and are then renamed to a guest nick unless they did. Native clients put the
// password in their hello, and get no grace: their hello is refused, and the client asks.
import { setTimeout } from "node:timers";
import type { Chat } from "./chat.ts";
import type { Asker } from "./handlers.ts";
import type { Accounts } from "./accounts.ts";
import { freeGuestNick, guardNick } from "./account_handlers.ts";
import { ProtocolError } from "../protocol.ts";

/**
 * Whether `asker`, greeting with `nick`, may have it for a grace rather than be refused it. A
 * promise, as the accounts' store answers (Redis in a cluster); rejects if the store cannot.
 */
export async function graceFor(
  accounts: Accounts | null,
  asker: Asker,
  nick: string,
): Promise<boolean> {
  if (!accounts || accounts.graceMs <= 0) return false;
  return !(await owns(accounts, asker, nick));
}

/**
 * `asker` has just joined under its registered nick for a grace: it is told so, and renamed to a
 * guest once the grace is over unless by then it has proved the nick (or left it, or the server).
 */
export function startGrace(chat: Chat, asker: Asker, accounts: Accounts): void {
  const nick = asker.nick!;
  graceTimer(asker, accounts, async () => {
    const guest = await freeGuestNick(chat, accounts);
    // The member may have renamed itself or left while the accounts answered.
    if (asker.nick !== nick) return null;
    chat.rename(asker, guest);
    return guest;
  });
}

/**
 * The grace itself, wherever the member is served (here, or on a node of a cluster:
 * cluster/identify_grace.ts): `asker` is told it holds a registered nick for `accounts.graceMs`,
 * and once that is over, if it still has the nick and has not proved it, `toGuest` renames it and
 * resolves to the guest nick it took (null if the member moved on meanwhile), and it is told why.
 */
export function graceTimer(
  asker: Asker,
  accounts: Accounts,
  toGuest: () => Promise<string | null>,
): void {
  const nick = asker.nick!;
  const seconds = accounts.graceMs / 1000;
  asker.sendMessage({
    type: "notice",
    text: `${nick} is registered: /identify PASSWORD within ${seconds} s, or you will be renamed`,
  });
  const over = async () => {
    if (asker.nick !== nick || await owns(accounts, asker, nick)) return;
    const guest = await toGuest();
    if (guest === null) return;
    asker.sendMessage({
      type: "notice",
      text: `you did not identify as ${nick} within ${seconds} s: you are ${guest} now`,
    });
  };
  // Unreferenced: a grace never keeps a stopping server alive. Accounts that cannot be reached
  // when it is over leave the member as it is, told why, rather than end the server.
  setTimeout(() => {
    over().catch((error) => {
      if (!(error instanceof ProtocolError)) throw error;
      if (asker.nick === nick) asker.sendMessage({ type: "notice", text: error.message });
    });
  }, accounts.graceMs).unref();
}

// Whether `nick` is free to `asker`: unregistered, or registered to the account it proved.
async function owns(accounts: Accounts, asker: Asker, nick: string): Promise<boolean> {
  try {
    await guardNick(accounts, asker, nick);
    return true;
  } catch (error) {
    if (error instanceof ProtocolError) return false;
    throw error;
  }
}
