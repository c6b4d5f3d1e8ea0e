import { test } from "node:test";
import assert from "node:assert/strict";
import { GREETING_SO_FAR, readGreeting } from "../../protocol/greeting.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const MAX = 4096;

test("readGreeting reads `NAME connection...` once it is whole, and waits before", () => {
  const greeting = bytes("jules connection...");
  assert.deepEqual(readGreeting(greeting, MAX), { name: "jules", bytes: greeting.length });
  for (let end = 0; end < greeting.length; end++) {
    assert.equal(readGreeting(greeting.subarray(0, end), MAX), GREETING_SO_FAR, `${end} bytes`);
  }
});

test("readGreeting leaves the client's first line to follow, whole or in part", () => {
  const glued = bytes("jules connection...jules : hello\n");
  for (let end = "jules connection...".length; end <= glued.length; end++) {
    assert.deepEqual(readGreeting(glued.subarray(0, end), MAX), { name: "jules", bytes: 19 });
  }
});

test("readGreeting takes any name the client's input() gives, for the server to judge", () => {
  assert.deepEqual(readGreeting(bytes("jules verne connection..."), MAX), {
    name: "jules verne",
    bytes: 25,
  });
  assert.deepEqual(readGreeting(bytes("jülés connection..."), MAX), { name: "jülés", bytes: 21 });
  assert.deepEqual(readGreeting(bytes(" connection... : hi\n"), MAX), { name: "", bytes: 14 });
  assert.deepEqual(readGreeting(bytes("123456789 connection..."), MAX), {
    name: "123456789",
    bytes: 23,
  });
});

test("readGreeting says no to a person's line, telnet, and what never ends", () => {
  for (
    const input of [
      "hello\n",
      "my connection... is slow\n", // what follows is not `my : `
      "jules connection...bob : hi\n",
      "a\tb connection...",
      "\xff\xfd\x01",
    ]
  ) {
    const prefix = Uint8Array.from(input, (c) => c.charCodeAt(0)); // one byte per character
    assert.equal(readGreeting(prefix, MAX), null, JSON.stringify(input));
  }
  assert.equal(readGreeting(bytes("x".repeat(MAX - 1)), MAX), GREETING_SO_FAR);
  assert.equal(readGreeting(bytes("x".repeat(MAX)), MAX), null);
});
