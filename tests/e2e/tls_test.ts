// TLS end to end: a server with --tls-cert and --tls-key, certificates made by openssl at test time
// (_certs.ts), and every kind of member over TLS (the native client with --ca, `openssl s_client`
// as a line member, the 10-byte-header tutorial client through a TLS wrapper) in one room with a
// plain-TCP member; a client that does not trust the server; a renewal; TLS only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { frame } from "../_frames.ts";
import { TestCertificates } from "./_certs.ts";
import {
  type Inbox,
  type Json,
  LineReader,
  LOOPBACK_ARGS,
  nativeFrames,
  NO_WEB,
  remainingLines,
  type RuntimeName,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  Subprocess,
  TestMember,
  within,
} from "./_helpers.ts";
import { HeaderTutorialClient } from "./_tutorial_clients.ts";

const port = (line: string) => Number(line.slice(line.lastIndexOf(":") + 1));

/** server.ts with TLS on a free port, and plain TCP too unless `args` turn it off. */
async function startTlsServer(
  runtime: RuntimeName,
  certs: TestCertificates,
  args: string[] = [],
): Promise<{ server: ServerProcess; plainPort: number; tlsPort: number }> {
  const tlsArgs = ["--tls-cert", certs.certFile, "--tls-key", certs.keyFile, "--tls-port", "0"];
  const server = new ServerProcess(
    scriptCommand(runtime, "server.ts", [
      ...LOOPBACK_ARGS,
      ...NO_WEB,
      "--port",
      "0",
      ...tlsArgs,
      ...args,
    ]),
  );
  let line = await server.stdout.waitFor(/^listening/, "the first listening line");
  let plainPort = 0;
  if (line.startsWith("listening on ")) {
    plainPort = port(line);
    line = await server.stdout.waitFor(/^listening/, "the TLS listening line");
  }
  assert.match(line, /^listening with TLS on 127\.0\.0\.1:\d+$/);
  return { server, plainPort, tlsPort: port(line) };
}

/** A native member over TLS, trusting `ca`, decoding frames itself. */
class TlsMember {
  readonly socket: tls.TLSSocket;
  readonly frames: Inbox<Json>;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    this.frames = nativeFrames(socket);
  }

  static async join(port: number, ca: string, nick: string): Promise<TlsMember> {
    const socket = tls.connect({ port, host: "127.0.0.1", ca });
    await within(once(socket, "secureConnect"), `a TLS connection to port ${port}`);
    const member = new TlsMember(socket);
    member.send({ type: "hello", nick });
    await member.expect({ type: "welcome", nick });
    return member;
  }

  /** The SHA-256 fingerprint of the certificate the server showed this connection. */
  get serverFingerprint(): string {
    return this.socket.getPeerX509Certificate()!.fingerprint256;
  }

  send(message: unknown): void {
    this.socket.write(frame(message));
  }

  /** Skips messages until one has every field of `fields`. */
  async expect(fields: Json): Promise<Json> {
    while (true) {
      const message = await this.frames.next(JSON.stringify(fields));
      if (message === null) throw new Error(`closed while expecting ${JSON.stringify(fields)}`);
      if (Object.entries(fields).every(([key, value]) => message[key] === value)) return message;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.socket.destroy();
    if (!this.socket.closed) await once(this.socket, "close");
  }
}

for (const runtime of RUNTIMES) {
  const name = (what: string) => `tls [${runtime}] ${what}`;

  test(name("TLS members of every kind and a plain-TCP member chat in one room"), async () => {
    using certs = await TestCertificates.make();
    const { server, plainPort, tlsPort } = await startTlsServer(runtime, certs, ["--quiet"]);
    await using _server = server;
    await using plain = await TestMember.join(plainPort, "plain");

    await using native = new Subprocess(scriptCommand(runtime, "client.ts", [
      ...["127.0.0.1", String(tlsPort), "--ca", certs.caFile, "--nick", "native"],
    ]));
    assert.equal(
      await native.stdout.next(),
      "* you are native in lobby; here: plain, native (you)",
    );
    await plain.expect({ type: "join", nick: "native" });

    // A person at `openssl s_client`, which checks the server against the test authority.
    await using line = new Subprocess([
      ...["openssl", "s_client", "-quiet", "-verify_return_error", "-no_ign_eof"],
      ...["-connect", `127.0.0.1:${tlsPort}`, "-CAfile", certs.caFile],
    ]);
    const banner = await line.stdout.waitFor(/^\*\*\* you are guest\d+ in lobby/, "the banner");
    const guest = banner.split(" ")[3];
    await plain.expect({ type: "join", nick: guest });

    await using legacy = await HeaderTutorialClient.connect(
      tlsPort,
      "legacy",
      readFileSync(certs.caFile, "utf8"),
    );
    await legacy.waitFor(
      "*",
      `you are legacy in lobby; here: plain, native, ${guest}, legacy (you)`,
    );
    await plain.expect({ type: "join", nick: "legacy" });

    plain.send({ type: "msg", text: "from plain tcp" });
    await native.stdout.waitFor("<plain> from plain tcp");
    await line.stdout.waitFor("<plain> from plain tcp");
    await legacy.waitFor("plain", "from plain tcp");

    native.write("from the native client\n");
    await plain.expect({ type: "msg", from: "native", text: "from the native client" });
    await line.stdout.waitFor("<native> from the native client");
    await legacy.waitFor("native", "from the native client");

    line.write("from openssl s_client\n");
    await plain.expect({ type: "msg", from: guest, text: "from openssl s_client" });
    await native.stdout.waitFor(`<${guest}> from openssl s_client`);
    await legacy.waitFor(guest, "from openssl s_client");

    legacy.type("from the tutorial client");
    await plain.expect({ type: "msg", from: "legacy", text: "from the tutorial client" });
    await native.stdout.waitFor("<legacy> from the tutorial client");
    await line.stdout.waitFor("<legacy> from the tutorial client");
  });

  test(
    name("a client refuses a server its authorities do not vouch for, in one line"),
    async () => {
      using certs = await TestCertificates.make();
      const { server, plainPort, tlsPort } = await startTlsServer(runtime, certs, ["--quiet"]);
      await using _server = server;
      const cases: [string[], string][] = [
        // The test authority is no system authority.
        [[String(tlsPort), "--tls"], "its certificate is not signed by a trusted authority"],
        // TLS to a plain port fails; it never falls back to plain text.
        [[String(plainPort), "--ca", certs.caFile], "it does not speak TLS on this port"],
      ];
      for (const [args, why] of cases) {
        await using client = new Subprocess(
          scriptCommand(runtime, "client.ts", ["127.0.0.1", ...args, "--nick", "eve"]),
        );
        client.endInput();
        assert.equal(await client.exitCode(), 1, args.join(" "));
        assert.deepEqual(await remainingLines(client.stderr), [
          `client: cannot connect to 127.0.0.1:${args[0]}: ${why}`,
        ]);
        assert.deepEqual(await remainingLines(client.stdout), []);
      }
    },
  );

  test(name("a renewed certificate serves new connections; members stay"), async () => {
    using certs = await TestCertificates.make();
    const ca = readFileSync(certs.caFile, "utf8");
    const { server, tlsPort } = await startTlsServer(runtime, certs, ["--quiet"]);
    await using _server = server;
    const first = certs.fingerprint();
    await using old = await TlsMember.join(tlsPort, ca, "old");
    assert.equal(old.serverFingerprint, first);

    await certs.renew();
    const renewed = certs.fingerprint();
    assert.notEqual(renewed, first);
    await server.stderr.waitFor(`tls: certificate renewed from ${certs.certFile}`);

    await using fresh = await TlsMember.join(tlsPort, ca, "fresh");
    assert.equal(fresh.serverFingerprint, renewed);
    fresh.send({ type: "msg", text: "new certificate here" });
    await old.expect({ type: "msg", from: "fresh", text: "new certificate here" });
    old.send({ type: "msg", text: "still here on the old one" });
    await fresh.expect({ type: "msg", from: "old", text: "still here on the old one" });
  });

  test(
    name("a TLS member that stops reading is closed as too slow, the others chat on"),
    async () => {
      // The slow member is `openssl s_client`, whose output nobody reads: once its pipe is full it
      // stops reading from the server. (A test's own TLS socket cannot stop reading: paused, it
      // still takes in and decrypts everything, on Deno and Bun.) Alice floods the lobby over plain
      // TCP, 50 messages of 1 KiB to a ping, until the server drops it.
      using certs = await TestCertificates.make();
      const { server, plainPort, tlsPort } = await startTlsServer(runtime, certs, [
        ...["--quiet", "--send-queue", "65536", "--rate", "0"],
      ]);
      await using _server = server;
      await using alice = await TestMember.join(plainPort, "alice");
      const slow = spawn("openssl", [
        ...["s_client", "-quiet", "-connect", `127.0.0.1:${tlsPort}`, "-CAfile", certs.caFile],
      ], { stdio: ["pipe", "pipe", "ignore"] });
      const exited = once(slow, "exit");
      try {
        const { nick } = await alice.expect({ type: "join" });
        const text = "x".repeat(1024);
        let left = false;
        for (let batch = 0; !left; batch++) {
          assert.ok(batch < 10_000, "the slow member was never closed");
          for (let i = 0; i < 50; i++) alice.send({ type: "msg", text });
          alice.send({ type: "ping" });
          for (let reply = await alice.next(); reply?.type !== "pong"; reply = await alice.next()) {
            assert.deepEqual([reply?.type, reply?.nick], ["leave", nick]);
            left = true;
          }
        }
        const lines = await remainingLines(
          new LineReader(slow.stdout!),
          "the slow member's output",
        );
        assert.match(lines.pop()!, /^\*\*\* You were too slow to read: over 65536 bytes waited/);
        const chat = lines.filter((line) => !line.startsWith("*** "));
        assert.ok(chat.length > 64, `only ${chat.length} messages came before the error`);
        assert.ok(chat.every((line) => line === `<alice> ${text}`));
        await using bob = await TestMember.join(plainPort, "bob", "calm");
        alice.send({ type: "join", room: "calm" });
        await bob.expect({ type: "join", nick: "alice" });
        alice.send({ type: "msg", room: "calm", text: "the others chat on" });
        await bob.expect({ type: "msg", from: "alice", text: "the others chat on" });
      } finally {
        slow.kill("SIGKILL");
        await within(exited, "openssl to exit");
      }
    },
  );

  test(name("a TLS member that floods is held back or closed, not held in memory"), async () => {
    // A flood has nothing to wait for where the server holds it back (TCP stops the sender), so
    // the sender writes for FLOOD_MS at most, or until it is closed, and then what it got out and
    // the server's peak memory are read. Unheld, it gets out some 100 MB a second.
    const FLOOD_MS = 4000;
    const MIB = 1024 * 1024;
    using certs = await TestCertificates.make();
    const { server, plainPort, tlsPort } = await startTlsServer(runtime, certs, ["--quiet"]);
    await using _server = server;
    const flooder = tls.connect({
      port: tlsPort,
      host: "127.0.0.1",
      ca: readFileSync(certs.caFile),
    });
    flooder.on("error", () => {});
    await within(once(flooder, "secureConnect"), "the flooder's TLS connection");
    flooder.write(frame({ type: "hello", nick: "flooder" }));
    const chunk = Buffer.concat(
      Array.from({ length: 16 }, () => frame({ type: "msg", text: "y".repeat(4000) })),
    );
    let written = 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FLOOD_MS);
      const stop = () => (clearTimeout(timer), resolve());
      flooder.once("close", stop);
      const more = () =>
        flooder.write(chunk, (error?: Error | null) => {
          if (error) return stop();
          written += chunk.length;
          if (written < 256 * MIB) more();
          else stop();
        });
      more();
    });
    flooder.destroy();
    assert.ok(written < 96 * MIB, `the flooder got ${Math.round(written / MIB)} MiB out`);
    const status = readFileSync(`/proc/${server.child.pid}/status`, "utf8");
    const peakBytes = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
    assert.ok(peakBytes < 256 * MIB, `the server's memory peaked at ${peakBytes / MIB} MiB`);
    await using alice = await TestMember.join(plainPort, "alice", "calm");
    await using bob = await TestMember.join(plainPort, "bob", "calm");
    alice.send({ type: "msg", text: "still here" });
    await bob.expect({ type: "msg", from: "alice", text: "still here" });
  });

  test(name("with --port off only TLS is served; plain text on it is refused"), async () => {
    using certs = await TestCertificates.make();
    const { server, plainPort, tlsPort } = await startTlsServer(runtime, certs, [
      ...["--port", "off", "--quiet"],
    ]);
    await using _server = server;
    assert.equal(plainPort, 0, "no plain listening line before the TLS one");

    const socket = net.connect({ port: tlsPort, host: "127.0.0.1" });
    const frames = nativeFrames(socket);
    await within(once(socket, "connect"), "a plain connection to the TLS port");
    socket.write(frame({ type: "hello", nick: "plain" }));
    assert.equal(await frames.next("the plain connection to close"), null);

    await using member = await TlsMember.join(tlsPort, readFileSync(certs.caFile, "utf8"), "ok");
    member.send({ type: "who" });
    await member.expect({ type: "who", room: "lobby" });
  });

  test(
    name("a peer that never finishes its handshake is closed after --hello-timeout"),
    async () => {
      using certs = await TestCertificates.make();
      const { server, tlsPort } = await startTlsServer(runtime, certs, [
        ...["--quiet", "--hello-timeout", "0.5"],
      ]);
      await using _server = server;
      const silent = net.connect({ port: tlsPort, host: "127.0.0.1" });
      silent.on("error", () => {});
      const closed = once(silent, "close");
      await within(once(silent, "connect"), "a plain connection to the TLS port");
      await within(closed, "the server to close the silent connection");
    },
  );

  test(name("bad certificate files stop the server with one line and status 1"), async () => {
    using certs = await TestCertificates.make();
    const missing = path.join(certs.dir, "missing.pem");
    const cases: [string, string, string][] = [
      [missing, certs.keyFile, `cannot read --tls-cert ${missing}: no such file or directory`],
      [certs.keyFile, certs.keyFile, `--tls-cert ${certs.keyFile} holds no PEM certificate`],
      [certs.certFile, certs.caFile, `--tls-key ${certs.caFile} holds no PEM private key`],
      [
        certs.certFile,
        path.join(certs.dir, "ca.key"),
        `--tls-key ${path.join(certs.dir, "ca.key")} is not the key of the certificate in ` +
        `--tls-cert ${certs.certFile}`,
      ],
    ];
    for (const [cert, key, why] of cases) {
      await using bad = new Subprocess(scriptCommand(runtime, "server.ts", [
        ...LOOPBACK_ARGS,
        ...NO_WEB,
        ...["--port", "0", "--tls-port", "0", "--tls-cert", cert, "--tls-key", key],
      ]));
      assert.equal(await bad.exitCode(), 1, why);
      assert.deepEqual(await remainingLines(bad.stderr), [`server: ${why}`]);
      assert.deepEqual(await remainingLines(bad.stdout), [], "nothing listened");
    }
  });

  test(name("TLS flags that do not go together are a usage error"), async () => {
    const cases: [string[], string][] = [
      [["--tls-cert", "server.pem"], "--tls-cert needs --tls-key"],
      [["--tls-key", "server.key"], "--tls-key needs --tls-cert"],
      [["--tls-port", "6697"], "--tls-port needs --tls-cert and --tls-key"],
      [
        ["--port", "off", "--http-port", "off"],
        "--port off and --http-port off leave no port without --tls-cert",
      ],
    ];
    for (const [args, why] of cases) {
      await using bad = new Subprocess(scriptCommand(runtime, "server.ts", args));
      assert.equal(await bad.exitCode(), 2, why);
      assert.deepEqual(await remainingLines(bad.stderr), [`server: ${why} (try --help)`]);
    }
  });
}
