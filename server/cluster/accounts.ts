// Registered nicks in a cluster: the rules are the single server's (server/accounts.ts,
// account_handlers.ts), the records and attempt counts are in Redis (accounts_store.ts), and a
// node asks here before it leases a nick (ClusterNode.claim), so a registered nick is refused to
// whoever has not proved it, on every node.
//
// A nick is registered to one account but may be wanted by two connections that both know the
// password: one left behind (a laptop that slept, a connection not yet timed out) and the one the
// person uses now. As IRC services' REGAIN does, the connection that gives the password (a hello
// with `password`, or /login) takes the nick from the other, on whichever node it is; that one
// becomes a guest and is told why. A plain /nick never takes a nick from anyone.
import { Accounts } from "../accounts.ts";
import { type AccountInput, guardNick, handleAccount, hostOf } from "../account_handlers.ts";
import type { Asker } from "../handlers.ts";
import type { Member } from "../chat.ts";
import type { Input } from "../wire.ts";
import { nameKey, ProtocolError } from "../../protocol.ts";
import { RedisAccountStore, RedisAttemptCounter } from "./accounts_store.ts";
import { nodeAliveKey } from "./redis_link.ts";
import { clusterDown, nodeOf, parseLease } from "./members.ts";
import type { ClusterNode } from "./node.ts";

/** Where a node hears that one of its members' nicks was taken back by its account's owner. */
export const regainChannel = (node: string) => `parley:node:${node}:regain`;

/**
 * Leases a nick's keys to a holder that proved the nick's account, taking them from the one
 * connection that holds them now under the same name (KEYS[1] is the name's own key); a key that
 * someone else holds (a look-alike nick of another account) still refuses, unless its holder's
 * node is no longer present, as in redis_link.ts's claim script. Returns
 * {the value that refused, or ''; the value taken over, or ''}.
 * KEYS: the nick's lease keys, its name key first. ARGV: holder id, value, the prefix and suffix
 * of a node's presence key.
 */
const REGAIN = `
local mine = ARGV[1] .. ' '
local previous = redis.call('GET', KEYS[1])
if previous and string.sub(previous, 1, #mine) == mine then previous = false end
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value and value ~= previous and string.sub(value, 1, #mine) ~= mine then
    local node = string.match(string.match(value, '^(%S+)'), '^(.*):[^:]*$')
    if redis.call('EXISTS', ARGV[3] .. node .. ARGV[4]) == 1 then return {value, ''} end
  end
end
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[2]) end
return {'', previous or ''}
`;

export class ClusterAccounts {
  readonly accounts: Accounts;
  // With --identify-needs-tls, the same accounts as members without encryption use them: every
  // password refused (Accounts.overPlainText). Which members those are: plain_text.ts marks them.
  #overPlainText: Accounts;
  #plainMembers = new WeakSet<Member>();
  // Members that have just given the password of the nick they ask for: their next claim of it
  // takes it from another connection (the name key it may take).
  #regaining = new WeakMap<Member, string>();

  constructor(readonly node: ClusterNode) {
    const { link } = node;
    this.accounts = new Accounts(new RedisAccountStore(link), new RedisAttemptCounter(link));
    this.accounts.graceMs = node.options.graceMs ?? 0;
    this.#overPlainText = this.accounts.overPlainText();
  }

  /** `member` came over a connection without encryption, and passwords need TLS. */
  servePlainText(member: Member): void {
    this.#plainMembers.add(member);
  }

  // The accounts as `member` may use them.
  #for(member: Member): Accounts {
    return this.#plainMembers.has(member) ? this.#overPlainText : this.accounts;
  }

  /** Listens for this node's members' nicks taken back elsewhere. */
  async start(): Promise<void> {
    const log = (error: unknown) => this.node.options.log(`redis: regain failed: ${error}`);
    await this.node.link.subscribeJson<{ h: string; v: string }>(
      regainChannel(this.node.id),
      "a regain",
      ({ h, v }) => void this.#lost(h, v).catch(log),
    );
  }

  /**
   * Rejects with nick_registered when `member` may not have `nick`: before every lease of it. A
   * member greeting with it may have it for a grace (identify_grace.ts).
   */
  async guard(member: Member, nick: string): Promise<void> {
    try {
      await guardNick(this.accounts, member as Asker, nick);
    } catch (error) {
      if (!(error instanceof ProtocolError) || !this.node.grace.waives(member, nick, error)) {
        throw error;
      }
    }
  }

  /**
   * Leases `keys` for `member` as ClusterNode.claim does (link.claim), or, right after it gave the
   * password for `nick`, takes them from the connection that has them.
   */
  async claim(member: Member, keys: string[], holder: string, value: string): Promise<string> {
    const { link } = this.node;
    const nick = value.slice(value.indexOf(" ") + 1);
    if (this.#regaining.get(member) !== nameKey(nick)) return await link.claim(keys, holder, value);
    this.#regaining.delete(member);
    const [prefix, suffix] = nodeAliveKey("\n").split("\n");
    const args = [holder, value, prefix, suffix];
    const reply = await link.run(REGAIN, keys, args) as [string, string];
    const [refused, previous] = reply.map(String);
    if (previous !== "") {
      // Its node renames it; if that node is gone, the sweep lets go of what it still has.
      const { holder: old } = parseLease(previous);
      const notice = JSON.stringify({ h: old, v: previous });
      await link.publish(regainChannel(nodeOf(old)), notice).catch(() => {});
    }
    return refused;
  }

  /** A hello: its password, if any, is checked first, then `join` runs (and takes the nick). */
  async hello(
    asker: Asker,
    input: Extract<Input, { type: "hello" }>,
    join: () => Promise<void>,
  ): Promise<void> {
    // The nick itself is guarded where it is leased (claim): only the password is checked here.
    const accounts = this.#for(asker);
    // Over plain text a password for a nick nobody registered is ignored too, not refused: as on
    // one server, whose hello identifies only for a registered nick.
    const plain = accounts !== this.accounts;
    const before = asker.account;
    const checked = input.password !== undefined && asker.nick === null &&
      (!plain || await this.accounts.find(input.nick) !== null);
    if (checked) {
      const host = hostOf(asker.address);
      const account = await accounts.identify(input.nick, input.password!, host).catch(
        (error) => {
          // A password for a nick nobody registered is ignored, as on a single server.
          if (error instanceof ProtocolError && error.code === "not_registered") return null;
          throw error;
        },
      );
      if (account) {
        asker.account = account.nick;
        this.#regaining.set(asker, nameKey(input.nick));
      }
    }
    try {
      await join();
    } catch (error) {
      // Refused (its nick, its room): the password proved nothing the connection keeps.
      if (asker.nick === null) asker.account = before;
      throw error;
    } finally {
      this.#regaining.delete(asker);
    }
  }

  /** register, identify, login, passwd, unregister: as on a single server. */
  async handle(asker: Asker, input: AccountInput): Promise<void> {
    if (input.type === "register") await this.#durable();
    return await handleAccount(
      async (member, nick) => {
        this.#regaining.set(member, nameKey(nick));
        try {
          await this.node.handle(member, { type: "nick", nick });
        } finally {
          this.#regaining.delete(member);
        }
      },
      this.#for(asker),
      asker,
      input,
      // A ban may name the account just proved: asked again for each room, as Chat.admit does.
      (member) => {
        for (const room of member.rooms) this.node.gate?.(member, member.nick!, room.name);
      },
    );
  }

  // Registration needs durable storage: in a cluster, a Redis that keeps an append-only file, or
  // a restart of it would give every registered nick to whoever asks first. Asked at each
  // registration, so an operator's CONFIG SET appendonly yes counts at once. A Redis that will not
  // say (INFO disabled) is taken at its operator's word.
  async #durable(): Promise<void> {
    let info: string;
    try {
      info = await this.node.link.commands.info("persistence");
    } catch {
      if (!this.node.link.up) throw clusterDown("accounts could not be reached");
      return;
    }
    if (/^aof_enabled:0\b/m.test(info)) {
      throw new ProtocolError(
        "no_accounts",
        "Registration needs durable storage: this chat's Redis keeps no append-only file " +
          "(appendonly yes)",
      );
    }
  }

  // This node's member `holder` had the nick of `value` and a connection that proved its account
  // took it: it becomes a guest, and everyone in its rooms sees the change.
  async #lost(holder: string, value: string): Promise<void> {
    const member = this.node.byHolder.get(holder);
    const holding = member && this.node.holdings.get(member);
    if (!member || holding?.value !== value || member.nick === null) return;
    const old = member.nick;
    await this.node.claimGuest(member);
    member.sendMessage({
      type: "notice",
      text: `your nick ${old} was taken by a connection that gave its password; ` +
        `you are now ${member.nick}`,
    });
    await this.node.announceRename(member, old, member.nick!);
  }
}
