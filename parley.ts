// Parley as one program, the form its release binaries take (tools/release.ts): `parley server`
// and `parley client` run server.ts's and client.ts's command lines, so a download holds both for
// the size of one. server.ts and client.ts stay programs of their own for `deno run` and `bun`.
import process from "node:process";
import { programName, runProgram, UsageError, versionLine } from "./cli.ts";
import { main as client } from "./client.ts";
import { main as server } from "./server.ts";

const usage = (name: string) =>
  `Usage: ${name} COMMAND [options]

Parley is a multi-user chat room over plain TCP.

Commands:
  server [options]                run a chat server (${name} server --help says how)
  client [HOST] [PORT] [options]  join a chat server (${name} client --help says how)

Options:
  --version  print the version and the commit it was built from
  --help     show this help
`;

const COMMANDS = { server, client };
const isCommand = (word?: string): word is keyof typeof COMMANDS =>
  word === "server" || word === "client";

async function main(args: string[], name: string): Promise<number> {
  const [first, ...rest] = args;
  if (isCommand(first)) return await COMMANDS[first](rest, `${name} ${first}`);
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(usage(name));
    return 0;
  }
  if (first === "--version") {
    process.stdout.write(versionLine());
    return 0;
  }
  throw new UsageError(
    first.startsWith("-") ? `unknown option "${first}"` : `unknown command "${first}"`,
  );
}

const args = process.argv.slice(2);
// A problem is told as server.ts and client.ts tell it ("server: ..."), or as Parley's own.
await runProgram(isCommand(args[0]) ? args[0] : "parley", () => main(args, programName()));
