// Password hashing for accounts: scrypt from node:crypto, which both runtimes provide and run off
// the event loop. A stored hash names its parameters, so they can be raised later without losing
// the accounts made under the old ones.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * scrypt's cost (N = 2^14), block size (r = 8) and parallelism (p = 1): about 16 MiB and some tens
 * of milliseconds a hash, the interactive-login figures of scrypt's paper and OWASP's advice.
 */
export const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
// What a stored hash may ask for, at most: a damaged or hostile row cannot make us use more.
const MAX_N = 1 << 20;
const MAX_MEMORY = 256 * 1024 * 1024;

function derive(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
  keyBytes: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, { ...params, maxmem: MAX_MEMORY }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** `password` hashed with a new random salt: "scrypt$N$r$p$SALT$KEY", both in base64. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, SCRYPT_PARAMS, KEY_BYTES);
  const { N, r, p } = SCRYPT_PARAMS;
  return ["scrypt", N, r, p, salt.toString("base64"), key.toString("base64")].join("$");
}

/**
 * Whether `password` is the one `stored` was made from, compared in constant time. A hash that is
 * not in hashPassword's form matches nothing.
 */
export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], "base64");
  const expected = Buffer.from(parts[5], "base64");
  const sane = [N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) && N <= MAX_N &&
    (N & (N - 1)) === 0 && 128 * N * r * p <= MAX_MEMORY / 2 && expected.length >= 16;
  if (!sane) return false;
  const key = await derive(password, salt, { N, r, p }, expected.length);
  return timingSafeEqual(key, expected);
}
