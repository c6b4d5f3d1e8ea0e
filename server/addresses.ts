// IP addresses as numbers, for bans by address or prefix (moderation.ts). No I/O. An IPv4 address
// that reaches an IPv6 socket as ::ffff:a.b.c.d is the IPv4 address it carries, so one ban of
// 203.0.113.0/24 holds on both kinds of listener.

export interface Address {
  family: 4 | 6;
  value: bigint;
}

/** `text` as an IPv4 or IPv6 address (without brackets or a zone), or null if it is neither. */
export function parseAddress(text: string): Address | null {
  const v4 = parseV4(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseV6(text);
  if (v6 === null) return null;
  // ::ffff:0:0/96 is IPv4, mapped.
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/** Whether `host` lies in `net`/`bits`. */
export function prefixHolds(net: Address, bits: number, host: Address): boolean {
  if (net.family !== host.family) return false;
  const width = BigInt(net.family === 4 ? 32 : 128);
  const shift = width - BigInt(bits);
  return net.value >> shift === host.value >> shift;
}

function parseV4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function parseV6(text: string): bigint | null {
  if (!text.includes(":")) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): bigint[] | null => {
    if (half === "") return [];
    const words: bigint[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseV4(part);
        if (v4 === null) return null;
        words.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-f]{1,4}$/i.test(part)) {
        words.push(BigInt(parseInt(part, 16)));
      } else {
        return null;
      }
    }
    return words;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const word of [...head, ...Array(missing).fill(0n), ...tail]) value = (value << 16n) | word;
  return value;
}
