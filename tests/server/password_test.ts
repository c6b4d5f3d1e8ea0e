import { test } from "node:test";
import assert from "node:assert/strict";
import { checkPassword, hashPassword, SCRYPT_PARAMS } from "../../server/password.ts";

test("a hash names scrypt and its parameters, with a random salt", async () => {
  const one = await hashPassword("correct horse");
  const two = await hashPassword("correct horse");
  const { N, r, p } = SCRYPT_PARAMS;
  assert.match(
    one,
    new RegExp(`^scrypt\\$${N}\\$${r}\\$${p}\\$[A-Za-z0-9+/=]{24}\\$[A-Za-z0-9+/=]{44}$`),
  );
  assert.notEqual(one, two, "each hash has its own salt");
});

test("only the password a hash was made from matches it", async () => {
  const stored = await hashPassword("s3cret");
  assert.equal(await checkPassword("s3cret", stored), true);
  assert.equal(await checkPassword("s3cret ", stored), false);
  assert.equal(await checkPassword("S3cret", stored), false);
});

test("a hash made with other parameters is checked with its own", async () => {
  const stored = await hashPassword("pw-pw");
  const [, , , , salt, key] = stored.split("$");
  // The same salt and key under other parameters no longer match.
  assert.equal(await checkPassword("pw-pw", ["scrypt", 1024, 8, 1, salt, key].join("$")), false);
});

test("a damaged or hostile hash matches nothing and asks for no huge work", async () => {
  for (
    const stored of [
      "",
      "plain",
      "bcrypt$1$2$3$c2FsdA==$a2V5",
      "scrypt$16384$8$1$c2FsdA==$",
      `scrypt$${2 ** 30}$8$1$c2FsdHNhbHRzYWx0$${"A".repeat(44)}`,
      `scrypt$1000$8$1$c2FsdHNhbHRzYWx0$${"A".repeat(44)}`,
    ]
  ) {
    assert.equal(await checkPassword("anything", stored), false, stored);
  }
});
