// What the account inputs do (register, identify, login, passwd, unregister), and the one check
// that keeps a registered nick for whoever proved its password. The rules are server/accounts.ts;
// these answer the member. Each returns a promise: hashing runs off the event loop, and the session
// acts on nothing more of the member's input until it settles.
import type { Chat } from "./chat.ts";
import type { Asker } from "./handlers.ts";
import { type Accounts, nickRegistered } from "./accounts.ts";
import type { Input } from "./wire.ts";
import { nameKey, ProtocolError } from "../protocol.ts";

export type AccountInput = Extract<
  Input,
  { type: "register" | "identify" | "login" | "passwd" | "unregister" }
>;

/** The host part of a session's "host:port" or "[v6]:port" address: what attempts count under. */
export function hostOf(address: string): string {
  const host = address.replace(/:\d+$/, "");
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Rejects with nick_registered if `nick` is registered to anyone but the account `asker` proved. */
export function guardNick(accounts: Accounts, asker: Asker, nick: string): Promise<void> {
  return guardNickFor(accounts, asker.account, nick);
}

// Rejects with nick_registered if `nick` is registered to anyone but `proved`.
async function guardNickFor(accounts: Accounts, proved: string | null, nick: string) {
  const account = await accounts.find(nick);
  if (!account) return;
  if (proved === null || nameKey(proved) !== account.key) throw nickRegistered(nick);
}

/** A guest nick nobody has registered. */
export async function freeGuestNick(chat: Chat, accounts: Accounts): Promise<string> {
  let nick;
  do nick = chat.guestNick(); while (await accounts.find(nick));
  return nick;
}

/**
 * What a hello asks of the accounts, around `join`, which lets the member in: a password given for
 * a registered nick is checked, and a registered nick is refused to a member that has not proved
 * it. The member is identified only if `join` lets it in: a hello refused for its nick or room
 * leaves no account behind for the next hello to keep. The classic client cannot choose again, so
 * its refusal closes it.
 */
export async function checkHello(
  accounts: Accounts,
  asker: Asker,
  nick: string,
  password: string | undefined,
  join: () => void,
): Promise<void> {
  try {
    let account = asker.account;
    if (password !== undefined && await accounts.find(nick)) {
      account = (await accounts.identify(nick, password, hostOf(asker.address))).nick;
    }
    await guardNickFor(accounts, account, nick);
    await asAccount(asker, account, join);
  } catch (error) {
    if (asker.mode !== "legacy" || !(error instanceof ProtocolError)) throw error;
    throw new ProtocolError(error.code, error.message, true);
  }
}

/**
 * Acts on an account input; rejects with ProtocolError for what it cannot do. `rename` gives the
 * member the nick it logged in to (the single server's Chat, or a node's lease in a cluster);
 * `admit`, where the server has bans, throws if the member may not stay where it is as the
 * account it has just proved (a ban may name the account).
 */
export async function handleAccount(
  rename: (asker: Asker, nick: string) => void | Promise<void>,
  accounts: Accounts | null,
  asker: Asker,
  input: AccountInput,
  admit: (asker: Asker) => void,
): Promise<void> {
  if (!accounts) {
    throw new ProtocolError(
      "no_accounts",
      "Registration needs a server started with --data or --redis: this one keeps no accounts",
    );
  }
  const host = hostOf(asker.address);
  const tell = (text: string) => asker.sendMessage({ type: "notice", text });
  switch (input.type) {
    case "register": {
      const nick = joinedNick(asker);
      const account = await accounts.register(nick, input.password);
      asker.account = account.nick;
      tell(`${nick} is registered to you; next time, /login ${nick} PASSWORD`);
      break;
    }
    case "identify": {
      const account = await accounts.identify(joinedNick(asker), input.password, host);
      await asAccount(asker, account.nick, () => admit(asker));
      tell(`you are identified as ${account.nick}`);
      break;
    }
    case "login": {
      // Proving the password and taking the nick are one step: a rename refused (taken, a
      // look-alike, banned) leaves the member as it was, not identified for the account.
      const account = await accounts.identify(input.nick, input.password, host);
      await asAccount(asker, account.nick, async () => {
        if (asker.nick === input.nick) admit(asker);
        else if (asker.nick !== null) await rename(asker, input.nick);
      });
      tell(`you are identified as ${account.nick}`);
      break;
    }
    case "passwd":
      await accounts.change(identified(asker), input.old, input.password, host);
      tell(`the password of ${asker.account} is changed`);
      break;
    case "unregister": {
      const nick = identified(asker);
      await accounts.unregister(nick, input.password, host);
      asker.account = null;
      tell(`${nick} is no longer registered`);
      break;
    }
  }
}

// Runs `act` with `asker` identified as `account`, as the checks it makes (bans, registered
// nicks) must see it; if `act` throws, `asker` is as it was before, and the error goes on.
async function asAccount(
  asker: Asker,
  account: string | null,
  act: () => void | Promise<void>,
): Promise<void> {
  const before = asker.account;
  asker.account = account;
  try {
    await act();
  } catch (error) {
    asker.account = before;
    throw error;
  }
}

function joinedNick(asker: Asker): string {
  if (asker.nick === null) {
    throw new ProtocolError("not_joined", 'Send "hello" with your nick first');
  }
  return asker.nick;
}

function identified(asker: Asker): string {
  if (asker.account === null) {
    throw new ProtocolError("not_identified", "Identify first: /identify PASSWORD");
  }
  return asker.account;
}
