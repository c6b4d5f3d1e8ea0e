// What server.ts and client.ts share on the command line. node:util's parseArgs stands in for
// @std/cli because JSR is not reachable from our machines, and it is built into Deno, Bun and Node.
import { execFileSync } from "node:child_process";
import { lookup } from "node:dns/promises";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import packageJson from "./package.json" with { type: "json" };
import { formatAddress, knownProblem, systemProblem } from "./runtime.ts";

// The commit a release binary was built from, set by tools/release.ts (`bun build --define`).
declare const PARLEY_COMMIT: string | undefined;
const GIT_TIMEOUT_MS = 5000;

/** A bad command line: the message is printed as one line, and the program exits with status 2. */
export class UsageError extends Error {}

/**
 * The program cannot start (a port in use, a host that does not resolve, a --data that cannot be
 * used): the message, which says what failed and why, is printed as one line, and the program exits
 * with `status`.
 */
export class StartupError extends Error {
  constructor(message: string, readonly status = 1) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export function parseCommandLine<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({
      args: joinNegativeValues(args, options),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs explains at length how to pass a positional that starts with "-": keep the news.
    throw new UsageError(String((error as Error).message).split(/\.\s/)[0]);
  }
}

// parseArgs takes "-1" for an option, and calls "--port -1" ambiguous; a value that reads as a
// negative number belongs to the option before it, so that it gets the option's range message.
function joinNegativeValues(args: string[], options: Options): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return [...joined, ...args.slice(i)];
    const option = arg.startsWith("--") ? options[arg.slice(2)] : undefined;
    const next = args[i + 1];
    if (option?.type === "string" && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
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
 * The name the user ran the program by, for its usage text: the script's file name under a
 * runtime (server.ts, parley.ts), or the binary's own name when it is a standalone binary (parley).
 */
export function programName(): string {
  const executable = path.basename(process.execPath);
  const script = process.argv[1];
  const underRuntime = /^(deno|bun|node)(\.exe)?$/i.test(executable);
  return underRuntime && script ? path.basename(script) : executable;
}

/**
 * What `--version` prints: package.json's version, which a binary carries inside, and the commit
 * it was built from; from a checkout, the commit git says it is at ("unknown" without git).
 */
export function versionLine(): string {
  return `parley ${packageJson.version} (commit ${builtFrom()})\n`;
}

function builtFrom(): string {
  if (typeof PARLEY_COMMIT === "string") return PARLEY_COMMIT;
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: path.dirname(fileURLToPath(import.meta.url)),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: GIT_TIMEOUT_MS,
    }).trim();
    return commit || "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Runs one step of starting up. If it fails, the StartupError says `what` and why: the one place
 * where a failure to start becomes a line rather than a stack trace. A StartupError or UsageError
 * from the step passes through as it is.
 */
export async function starting<T>(what: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof UsageError || error instanceof StartupError) throw error;
    throw new StartupError(`${what}: ${systemProblem(error)}`);
  }
}

/**
 * Listens with `listen`; a failure names the address and why. Bun does not say when a host does
 * not resolve, so the host is looked up then to tell that case apart.
 */
export async function listenOrExplain<T>(
  host: string,
  port: number,
  listen: () => T | Promise<T>,
): Promise<T> {
  return await starting(`cannot listen on ${formatAddress(host, port)}`, async () => {
    try {
      return await listen();
    } catch (error) {
      if (knownProblem(error) !== null) throw error;
      throw await lookup(host).then(() => error, () => ({ code: "ENOTFOUND" }));
    }
  });
}

/**
 * Runs `main`, and exits with the status it returns. A UsageError is printed as one line and exits
 * with status 2; a StartupError as one line with its own status (1 unless it says otherwise).
 */
export async function runProgram(name: string, main: () => Promise<number>): Promise<never> {
  let status: number;
  try {
    status = await main();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${name}: ${error.message} (try --help)\n`);
      status = 2;
    } else if (error instanceof StartupError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      status = error.status;
    } else {
      throw error;
    }
  }
  process.exit(status);
}
