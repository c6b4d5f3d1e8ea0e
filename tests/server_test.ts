import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RUNTIMES, ServerProcess, TestMember } from "./_helpers.ts";

for (const runtime of RUNTIMES) {
  describe(`server [${runtime}]`, () => {
    test("three members each receive exactly the others' messages, in order", async () => {
      await using server = await ServerProcess.start(runtime, ["--quiet"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await TestMember.join(server.port, "bob");
      await alice.expect({ type: "join", nick: "bob" });
      await using carol = await TestMember.join(server.port, "carol");
      await alice.expect({ type: "join", nick: "carol" });
      await bob.expect({ type: "join", nick: "carol" });
      const members = [alice, bob, carol];
      const nicks = ["alice", "bob", "carol"];
      for (let i = 0; i < 20; i++) {
        members.forEach((member, m) => member.send({ type: "msg", text: `${nicks[m]} ${i}` }));
      }
      for (const [m, member] of members.entries()) {
        const received = new Map<string, string[]>();
        for (let k = 0; k < 40; k++) {
          const message = await member.expect({ type: "msg", room: "lobby" });
          assert.notEqual(message.from, nicks[m]);
          assert.equal(typeof message.ts, "number");
          received.set(message.from as string, [
            ...(received.get(message.from as string) ?? []),
            message.text as string,
          ]);
        }
        for (const [from, texts] of received) {
          assert.deepEqual(texts, Array.from({ length: 20 }, (_, i) => `${from} ${i}`));
        }
      }
      assert.equal(await server.stop(), 0);
    });
  });
}
