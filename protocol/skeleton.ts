// Look-alike names, with no I/O: the skeleton of Unicode's UTS #39 (section 4), under which two
// strings that a reader could take for one another are equal. `аlice` (Cyrillic а), `alıce`
// (dotless ı) and `alice` share a skeleton; so do `m` and `rn`, `l`, `1` and `I`.
import { CONFUSABLES } from "./confusables.ts";

let prototypes: Map<number, string> | null = null;

// Read once, on the first skeleton: the table is 6,311 entries, and most programs that import
// the protocol (the client, the benchmark) never compare nicks.
function table(): Map<number, string> {
  if (prototypes) return prototypes;
  prototypes = new Map();
  let source = 0;
  for (const entry of CONFUSABLES.split(",")) {
    const [delta, prototype] = entry.split(":");
    source += parseInt(delta, 36);
    const points = prototype.split(".").map((point) => parseInt(point, 36));
    prototypes.set(source, String.fromCodePoint(...points));
  }
  return prototypes;
}

// Default-ignorable code points are invisible: UTS #39 drops them from skeletons.
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/** `text`'s UTS #39 skeleton: NFD, invisible code points dropped, each character its prototype. */
export function skeleton(text: string): string {
  const prototypeOf = table();
  let mapped = "";
  for (const char of text.normalize("NFD").replace(IGNORABLE, "")) {
    mapped += prototypeOf.get(char.codePointAt(0)!) ?? char;
  }
  return mapped.normalize("NFD");
}
