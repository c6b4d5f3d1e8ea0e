// What the moderation tests share: a server with an operator and a place for its data, members
// who register as they join, and waiting past messages that do not matter to a test.
import assert from "node:assert/strict";
import {
  type Json,
  LineMember,
  type RuntimeName,
  startQuietServer,
  TestMember,
} from "./_helpers.ts";

export { temporaryDirectory } from "./_helpers.ts";

/** A server keeping its data in `dir`, with the server operator "root". */
export function startModerated(runtime: RuntimeName, dir: string, args: string[] = []) {
  return startQuietServer(runtime, ["--data", dir, "--operator", "root", ...args]);
}

/** A native member that joins as `nick` (in `room`) and registers or identifies with `password`. */
export async function identified(
  port: number,
  nick: string,
  room = "lobby",
  host = "127.0.0.1",
): Promise<TestMember> {
  const member = await TestMember.connect(port, host);
  member.send({ type: "hello", nick, room });
  await member.expect({ type: "welcome", nick });
  member.send({ type: "register", password: `${nick}-password` });
  await member.expect({ type: "notice" });
  return member;
}

/** The first message to `member` with every field of `fields`, passing over any others. */
export async function skipTo(member: TestMember, fields: Json): Promise<Json> {
  while (true) {
    const message = await member.next(JSON.stringify(fields));
    if (message === null) throw new Error(`closed while waiting for ${JSON.stringify(fields)}`);
    if (Object.entries(fields).every(([key, value]) => message[key] === value)) return message;
  }
}

/** What /whois, asked by `asker`, says of `nick`'s account: undefined for none. */
export async function accountOf(asker: TestMember, nick: string): Promise<unknown> {
  asker.send({ type: "whois", nick });
  return (await skipTo(asker, { type: "whois", nick })).account;
}

/**
 * `other`, whose hello for mallory (with her password) was refused for its room, joins as zed: it
 * is nobody's account, and cannot unregister hers. root asks /whois.
 */
export async function refusedForItsRoom(other: TestMember, root: TestMember): Promise<void> {
  other.send({ type: "hello", nick: "mallory", password: "mallory-password", room: "a b" });
  await other.expect({ type: "error", code: "bad_room" });
  other.send({ type: "hello", nick: "zed" });
  await other.expect({ type: "welcome", nick: "zed" });
  assert.equal(await accountOf(root, "zed"), undefined, "identified by a refused hello");
  other.send({ type: "unregister", password: "mallory-password" });
  await other.expect({ type: "error", code: "not_identified" });
}

/**
 * carol registers on `ports.carol` and leaves; root, an operator on `ports.root`, bans her
 * account; a greeting client on `ports.greeted` holds carol for the grace, as nobody's account (the
 * ban does not name it), and its /identify is refused with the ban: it stays nobody's.
 */
export async function identifyIntoBan(
  ports: { carol: number; root: number; greeted: number },
): Promise<{ root: TestMember; greeted: LineMember }> {
  {
    await using _carol = await identified(ports.carol, "carol", "den");
  }
  const root = await identified(ports.root, "root");
  root.send({ type: "ban", mask: "account:carol", reason: "spam" });
  await skipTo(root, { type: "notice", text: "root banned account:carol (spam)" });
  const greeted = await LineMember.connect(ports.greeted);
  greeted.socket.write("carol connection...");
  await greeted.lines.waitFor(/^\*\*\* you are carol in lobby/, "the registered nick, for now");
  greeted.say("/identify carol-password");
  await greeted.lines.waitFor("*** You are banned from lobby permanently (spam)");
  assert.equal(await accountOf(root, "carol"), undefined, "identified into a ban");
  return { root, greeted };
}
