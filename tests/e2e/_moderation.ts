// What the moderation tests share: a server with an operator and a place for its data, members
// who register as they join, and waiting past messages that do not matter to a test.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Json, type RuntimeName, startQuietServer, TestMember } from "./_helpers.ts";

export function temporaryDirectory(): Disposable & { path: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-moderation-"));
  return { path: dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

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
