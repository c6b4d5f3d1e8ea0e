// What the cluster tests share: a Parley node of a cluster on a real redis-server, with a short
// lease, and a member who asks for its own messages back.
import {
  type Json,
  LOOPBACK_ARGS,
  type RuntimeName,
  ServerProcess,
  TestMember,
  within,
} from "./_helpers.ts";

/** A short lease, so that a dead node's members are gone within seconds. */
export const LEASE_S = 1;

/** A node on `runtime` whose Redis is at `url` (`--redis-cluster` and such in `args`). */
export function startNode(runtime: RuntimeName, redis: { url: string }, args: string[] = []) {
  return ServerProcess.start(runtime, [
    ...LOOPBACK_ARGS,
    "--quiet",
    "--rate",
    "0",
    "--redis",
    redis.url,
    "--redis-lease",
    String(LEASE_S),
    ...args,
  ]);
}

/** A native member who joined as `nick`, with its own messages echoed back. */
export async function joinEcho(port: number, nick: string, extra: Json = {}): Promise<TestMember> {
  const member = await TestMember.connect(port);
  member.send({ type: "hello", nick, echo: true, ...extra });
  await member.expect({ type: "welcome", nick });
  return member;
}

/** Skips what `member` receives until a message with every field of `fields`, and returns it. */
export async function until(member: TestMember, fields: Json): Promise<Json> {
  for (;;) {
    const got = await member.next(JSON.stringify(fields));
    if (got === null) throw new Error(`closed waiting for ${JSON.stringify(fields)}`);
    if (Object.entries(fields).every(([key, value]) => got[key] === value)) return got;
  }
}

/**
 * Sends `input` (a hello or a nick asking for a nick someone just left with) until `member` gets a
 * message with every field of `fields`, and returns it; after each `nick_taken` it sends it again.
 * A node lets go of a leaving member's nick once its leaves are in, a round trip after the others
 * may have seen them (cluster_leave_test.ts): till then the nick is taken.
 */
export function onceFree(member: TestMember, input: Json, fields: Json): Promise<Json> {
  const what = `${JSON.stringify(fields)} once the nick is free`;
  return within(
    (async () => {
      for (;;) {
        member.send(input);
        for (;;) {
          const got = await member.next(what);
          if (got === null) throw new Error(`closed waiting for ${what}`);
          if (got.type === "error" && got.code === "nick_taken") break;
          if (got.type === "error") throw new Error(`${JSON.stringify(got)} waiting for ${what}`);
          if (Object.entries(fields).every(([key, value]) => got[key] === value)) return got;
        }
      }
    })(),
    what,
  );
}
