import { test } from "node:test";
import assert from "node:assert/strict";
import { isLoopbackHost } from "../../protocol/loopback.ts";

test("isLoopbackHost knows this machine's names and addresses, and nothing else", () => {
  for (const host of ["localhost", "LOCALHOST.", "a.localhost", "127.0.0.1", "127.1.2.3", "::1"]) {
    assert.ok(isLoopbackHost(host), host);
  }
  assert.ok(isLoopbackHost("[::1]"));
  assert.ok(isLoopbackHost("0:0:0:0:0:0:0:1"));
  assert.ok(isLoopbackHost("::ffff:127.0.0.1"));
  for (
    const host of ["192.0.2.1", "chat.example.org", "localhost.example.org", "::2", "128.0.0.1"]
  ) {
    assert.ok(!isLoopbackHost(host), host);
  }
});
