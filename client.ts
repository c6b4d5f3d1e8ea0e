// The Parley terminal client's entry point: the command line, then a ChatClient (client/) with a
// terminal or pipe Ui and the runtime's connect; signals, and the exit status. On a terminal it is
// interactive: a prompt, a line editor with Tab completion, colours. On pipes it is a line filter,
// so scripts can chat too. When the connection drops it reconnects, rejoins its rooms, and fills
// the gap from the server's history without showing anything twice.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import {
  parseCommandLine,
  programName,
  runProgram,
  seconds,
  StartupError,
  UsageError,
  versionLine,
  wholeNumber,
} from "./cli.ts";
import { ChatClient } from "./client/chat_client.ts";
import { printable } from "./client/format.ts";
import { KEY_HELP } from "./client/line_editor.ts";
import { createUi } from "./client/ui.ts";
import { defaultIgnoreFile, IgnoreFile } from "./client/ignore_file.ts";
import { DEFAULT_PORT, DEFAULT_TLS_PORT, nickProblem, roomProblem } from "./protocol.ts";
import { isLoopbackHost } from "./protocol/loopback.ts";
import { helpLines } from "./protocol/typed_lines.ts";
import { type Connection, formatAddress, systemProblem } from "./runtime.ts";
import { runtime } from "./runtime/current.ts";

const DEFAULT_HOST = "127.0.0.1";
// Longer than the server takes to notice a peer that vanished without a word (a ping after 60 s of
// silence, 30 s to answer), so that our old session's nick is free again before we give up.
const DEFAULT_RECONNECT_SECONDS = 120;
const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

const usage = (name: string) =>
  `Usage: ${name} [HOST] [PORT] [options]

Joins the Parley chat server at HOST (default ${DEFAULT_HOST}) and PORT (default ${DEFAULT_PORT},
or ${DEFAULT_TLS_PORT} with --tls).

On a terminal, type a message and press Enter to send it. Otherwise each line of input is a
message (the first is the nick, without --nick), and the client leaves at the end of its input,
once the server has confirmed it took every line.

Lines go out no faster than the server takes them (it says its rate when the client joins), so a
paste or a piped file arrives whole; meanwhile the prompt, or for a script a line on stderr, says
how many lines are still to send.

When the connection drops, the client connects again (at once, then after 0.5 s, 1 s, 2 s, ...
up to 10 s apart), rejoins its rooms, and shows what was said meanwhile, each message once.

Options:
  --nick NAME      join as NAME instead of being asked for a nick
  --room ROOM      join ROOM instead of the server's default room
  --reconnect S    seconds to keep trying to reconnect before giving up; 0 not to
                   reconnect at all (default ${DEFAULT_RECONNECT_SECONDS})
  --connect-timeout S
                   seconds the server has to accept a connection and answer the client's
                   first message, before the client gives up
                   (default ${DEFAULT_CONNECT_TIMEOUT_SECONDS})
  --timestamps     show the time on every line, as on history (/timestamps toggles it)
  --ignore-file FILE
                   keep the nicks you /ignore in FILE, one a line, and ignore them again
                   on every reconnect and every run (default $XDG_CONFIG_HOME/parley/ignored,
                   or ~/.config/parley/ignored)
  --tls            connect with TLS, and only to a server whose certificate is signed by one
                   of the system's certificate authorities and names HOST
  --ca FILE        with TLS (--ca implies --tls), trust the certificate authorities in FILE
                   (PEM) instead of the system's: for a private or test authority
  --allow-plain-password
                   send passwords (PARLEY_PASSWORD, /register, /identify, ...) over plain
                   TCP to a HOST that is not this machine, where anyone on the way can read
                   them; without it the client refuses to, and says why
  --no-color       no colours (neither does NO_COLOR=1, nor output that is not a terminal)
  --version        print the version and the commit it was built from
  --help           show this help

Registered nicks: the client gives the nick's password in its hello, and again whenever it
reconnects. It comes from PARLEY_PASSWORD (read at start, for scripts too), from a prompt that
does not echo it when the server says the nick is registered, or from /register or /identify
(typed without the password, they ask for it the same way). Never put it on the command line.

Commands:
${helpLines("client").map((line) => `  ${line}`).join("\n")}

Keys, on a terminal:
${KEY_HELP.map((line) => `  ${line}`).join("\n")}

Exit status:
  0        after leaving; for a script, only once every line of its input was sent and
           accepted
  1        the server cannot be reached, does not answer in time or does not speak Parley's
           protocol, or goes away and cannot be reached again in time;
           the server's certificate cannot be verified, or --ca cannot be read;
           PARLEY_PASSWORD is set for a plain connection to another machine, without
           --allow-plain-password;
           it refuses a script's nick (--nick, or its first line) or any of its lines, a
           script's lines may have been lost with a dropped connection, the server
           disconnects the client for flooding, or sends what cannot be read; or output
           cannot be written (a script is told why on stderr)
  2        a bad command line
  128 + N  after signal N (SIGINT, SIGTERM, SIGHUP), on which the client leaves politely
`;

/** The client's command line `args`, run; `name` is how its usage names it. */
export async function main(args: string[], name = programName()): Promise<number> {
  const { values, positionals } = parseCommandLine(args, {
    nick: { type: "string" },
    room: { type: "string" },
    reconnect: { type: "string", default: String(DEFAULT_RECONNECT_SECONDS) },
    "connect-timeout": { type: "string", default: String(DEFAULT_CONNECT_TIMEOUT_SECONDS) },
    timestamps: { type: "boolean", default: false },
    "ignore-file": { type: "string" },
    tls: { type: "boolean", default: false },
    ca: { type: "string" },
    "allow-plain-password": { type: "boolean", default: false },
    "no-color": { type: "boolean", default: false },
    version: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
  if (values.help) {
    process.stdout.write(usage(name));
    return 0;
  }
  if (values.version) {
    process.stdout.write(versionLine());
    return 0;
  }
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  const [host = DEFAULT_HOST, portText] = positionals;
  const tls = values.tls || values.ca !== undefined;
  const port = portText === undefined
    ? (tls ? DEFAULT_TLS_PORT : DEFAULT_PORT)
    : wholeNumber(portText, "PORT", 1, 65535);
  const ca = values.ca === undefined ? undefined : readAuthorities(values.ca);
  // Never plain text once TLS is asked for: a failed handshake is a failed connection.
  const connect = (host: string, port: number) =>
    tls ? runtime.connectTls(host, port, ca) : runtime.connect(host, port);
  const { nick, room } = values;
  const nickIssue = nick === undefined ? null : nickProblem(nick);
  if (nickIssue) throw new UsageError(`--nick "${printable(nick!)}": ${nickIssue}`);
  const roomIssue = room === undefined ? null : roomProblem(room);
  if (roomIssue) throw new UsageError(`--room "${printable(room!)}": ${roomIssue}`);
  const reconnectMs = seconds(values.reconnect, "--reconnect");
  const answerTimeoutMs = seconds(values["connect-timeout"], "--connect-timeout");
  if (answerTimeoutMs === 0) throw new UsageError("--connect-timeout must be more than 0 seconds");

  // A password never goes in clear across a network unless the user says it may.
  const plainTo = tls || isLoopbackHost(host) || values["allow-plain-password"] ? undefined : host;
  const password = process.env.PARLEY_PASSWORD || undefined;
  if (password !== undefined && plainTo !== undefined) {
    throw new StartupError(
      `not sending PARLEY_PASSWORD in clear to ${host}: use --tls, or --allow-plain-password`,
    );
  }

  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const address = formatAddress(host, port);
  // A person sees that something is happening; a script's output holds only the chat.
  if (interactive) process.stdout.write(`* connecting to ${address}...\n`);
  let conn: Connection;
  try {
    conn = await connectWithin(connect(host, port), answerTimeoutMs);
  } catch (error) {
    process.stderr.write(`client: cannot connect to ${address}: ${systemProblem(error)}\n`);
    return 1;
  }
  const ui = createUi(interactive, {
    // https://no-color.org: any non-empty NO_COLOR turns colours off.
    colour: Boolean(process.stdout.isTTY) && !values["no-color"] && !process.env.NO_COLOR,
  });
  const client = new ChatClient(
    {
      host,
      port,
      nick,
      room,
      // A script's nick is its --nick or its first line: its other lines are messages, never nicks.
      canAskForNick: Boolean(process.stdin.isTTY),
      reconnectMs,
      answerTimeoutMs,
      timestamps: values.timestamps,
      ignored: new IgnoreFile(
        values["ignore-file"] ?? defaultIgnoreFile(process.env, os.homedir()),
      ),
      password,
      plainTo,
    },
    ui,
    connect,
  );
  // Leaving politely on a signal also restores the terminal; the status says which signal it was.
  for (const [signal, status] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(signal, () => client.leave(status));
  }
  return await client.run(conn);
}

/** The certificates in --ca `file`, checked now: Deno's node:tls would take any bytes. */
function readAuthorities(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (error) {
    throw new StartupError(`cannot read --ca ${file}: ${systemProblem(error)}`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new StartupError(`--ca ${file} holds no PEM certificate`);
  }
  return pem;
}

/** `connecting`, given up after `ms`; a connection that comes later is closed. */
function connectWithin(connecting: Promise<Connection>, ms: number): Promise<Connection> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      connecting.then((late) => late.close(), () => {});
      reject(new Error(`no answer within ${ms / 1000} s`));
    }, ms);
  });
  return Promise.race([connecting, timedOut]).finally(() => clearTimeout(timer));
}

// Run as a script; parley.ts runs main() itself.
if (import.meta.main) await runProgram("client", () => main(process.argv.slice(2)));
