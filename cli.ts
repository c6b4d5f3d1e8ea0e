// What server.ts and client.ts share on the command line. node:util's parseArgs stands in for
// @std/cli because JSR is not reachable from our machines, and it is built into Deno, Bun and Node.
import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A bad command line: the message is printed as one line, and the program exits with status 2. */
export class UsageError extends Error {}

/** A program that cannot start: the message is printed as one line, and it exits with `status`. */
export class StartupError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export function parseCommandLine<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains at length how to pass a positional that starts with "-": keep the news.
    throw new UsageError(String((error as Error).message).split(/\.\s/)[0]);
  }
}

/** `text` as a whole number from `min` to `max`, or a UsageError naming `what`. */
export function wholeNumber(text: string, what: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

/** `text` as a duration in seconds (fractions allowed), returned in milliseconds. */
export function seconds(text: string, what: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value > 86_400 * 365) {
    throw new UsageError(`${what} must be a number of seconds, not "${text}"`);
  }
  return value * 1000;
}

/**
 * Runs `main`, turning a UsageError into one line on stderr and exit status 2, and a StartupError
 * into one line and its own status.
 */
export async function runProgram(name: string, main: () => Promise<number>): Promise<never> {
  let status: number;
  try {
    status = await main();
  } catch (error) {
    if (error instanceof StartupError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(error.status);
    }
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${name}: ${error.message} (try --help)\n`);
    status = 2;
  }
  process.exit(status);
}
