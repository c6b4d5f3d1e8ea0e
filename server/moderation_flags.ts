// What --operators FILE, --operator ACCOUNT and --motd FILE give the server, read once at start:
// a file that cannot be read or holds a bad name stops the server with one line (exit 1).
import { readFileSync } from "node:fs";
import { cleanText, nickProblem } from "../protocol.ts";

/** A flag's file that cannot be used: one line for the user, and the start fails. */
export class FlagFileProblem extends Error {}

function read(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const why = (error as { code?: string }).code === "ENOENT" ? "no such file" : String(error);
    throw new FlagFileProblem(`${flag} ${file}: ${why}`);
  }
}

/**
 * The server operators' account names: one a line in `file` (blank lines and `#` comments
 * aside), and each of `names`. Throws FlagFileProblem for a name that cannot be a nick.
 */
export function readOperators(file: string | undefined, names: readonly string[]): string[] {
  const operators: string[] = [];
  const add = (name: string, where: string) => {
    const problem = nickProblem(name);
    if (problem) {
      throw new FlagFileProblem(`${where}: "${name}" is not an account name: ${problem}`);
    }
    operators.push(name);
  };
  if (file !== undefined) {
    read(file, "--operators").split("\n").forEach((line, i) => {
      const name = line.replace(/#.*/, "").trim();
      if (name) add(name, `--operators ${file} line ${i + 1}`);
    });
  }
  for (const name of names) add(name, "--operator");
  return operators;
}

/** The message of the day: `file`'s lines, cleaned, without trailing blank ones. */
export function readMotd(file: string | undefined): string[] {
  if (file === undefined) return [];
  const text = read(file, "--motd");
  if (text.includes("\uFFFD") || text.includes("\0")) {
    throw new FlagFileProblem(`--motd ${file}: not a UTF-8 text file`);
  }
  const lines = text.split(/\r?\n/).map((line) => cleanText(line).trimEnd() || " ");
  while (lines.length > 0 && lines.at(-1) === " ") lines.pop();
  if (lines.length > 100) throw new FlagFileProblem(`--motd ${file}: more than 100 lines`);
  return lines;
}
