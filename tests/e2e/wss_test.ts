// The web port over TLS end to end: with --tls-cert and --tls-key it serves HTTPS and WSS with the
// certificate the test authority signed (_certs.ts). A WSS member beside a TLS line member, /metrics
// and /healthz over https, a renewal of the certificate, a WSS member too slow to read, and the
// page in chromium, trusting the server's key alone rather than ignoring every certificate error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey } from "node:crypto";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { launchBrowser, WebPage } from "./_browser.ts";
import { TestCertificates } from "./_certs.ts";
import {
  LineMember,
  LOOPBACK_ARGS,
  type RuntimeName,
  RUNTIMES,
  ServerProcess,
  Subprocess,
  TestMember,
  within,
} from "./_helpers.ts";
import { RawWebSocket, TEXT, webPortOf } from "./_websocket.ts";

/** A quiet server with TLS on a free port and its web port over TLS; their ports. */
async function startSecureWeb(
  runtime: RuntimeName,
  certs: TestCertificates,
  args: string[] = [],
): Promise<{ server: ServerProcess; tlsPort: number; web: number; url: string }> {
  const server = await ServerProcess.start(runtime, [
    ...LOOPBACK_ARGS,
    "--quiet",
    ...["--tls-cert", certs.certFile, "--tls-key", certs.keyFile, "--tls-port", "0"],
    ...["--http-port", "0"],
    ...args,
  ]);
  const tlsLine = await server.stdout.waitFor(/^listening with TLS on /, "the TLS line");
  const webLine = await server.stdout.waitFor(/^web client at /, "the web line");
  assert.match(webLine, /^web client at https:\/\/127\.0\.0\.1:\d+\/$/);
  return {
    server,
    tlsPort: Number(tlsLine.slice(tlsLine.lastIndexOf(":") + 1)),
    web: webPortOf(webLine),
    url: webLine.slice("web client at ".length),
  };
}

/** GET `path` on the web port over https, trusting `ca` alone. */
function httpsGet(port: number, path: string, ca: string): Promise<[number, string]> {
  return within(
    new Promise((resolve, reject) => {
      https.get({ host: "127.0.0.1", port, path, ca, agent: false }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => body += chunk);
        response.on("end", () => resolve([response.statusCode!, body]));
      }).on("error", reject);
    }),
    `GET ${path} over https`,
  );
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is shown. */
async function fingerprintAt(port: number, ca: string): Promise<string> {
  const socket = tls.connect({ port, host: "127.0.0.1", ca });
  try {
    await within(once(socket, "secureConnect"), `a TLS connection to port ${port}`);
    return socket.getPeerX509Certificate()!.fingerprint256;
  } finally {
    socket.destroy();
  }
}

/** A WSS member that has joined as `nick`. */
async function wssMember(port: number, nick: string, ca: string): Promise<RawWebSocket> {
  const member = await RawWebSocket.open(port, {}, ca);
  assert.match(member.response, /^HTTP\/1\.1 101 /);
  member.sendJson({ type: "hello", nick });
  assert.equal((await member.nextJson("the welcome"))?.type, "welcome");
  return member;
}

/** Reads `member`'s messages until one has every field of `fields`. */
async function expectJson(member: RawWebSocket, fields: Record<string, unknown>): Promise<void> {
  const what = JSON.stringify(fields);
  while (true) {
    const message = await member.nextJson(what);
    if (message === null) throw new Error(`closed while expecting ${what}`);
    if (Object.entries(fields).every(([key, value]) => message[key] === value)) return;
  }
}

// What chromium trusts: the server's public key, by its SHA-256 (the
// --ignore-certificate-errors-spki-list switch), and nothing else that is wrong with a certificate.
function spkiHash(certFile: string): string {
  const der = createPublicKey(readFileSync(certFile)).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64");
}

for (const runtime of RUNTIMES) {
  const name = (what: string) => `wss [${runtime}] ${what}`;

  test(name("a WSS member and a TLS line member chat; /metrics, /healthz over https"), async () => {
    using certs = await TestCertificates.make();
    const ca = readFileSync(certs.caFile, "utf8");
    const { server, tlsPort, web } = await startSecureWeb(runtime, certs);
    await using _server = server;

    await using webby = await wssMember(web, "webby", ca);
    await using line = new Subprocess([
      ...["openssl", "s_client", "-quiet", "-verify_return_error", "-no_ign_eof"],
      ...["-connect", `127.0.0.1:${tlsPort}`, "-CAfile", certs.caFile],
    ]);
    const banner = await line.stdout.waitFor(/^\*\*\* you are guest\d+ in lobby/, "the banner");
    const guest = banner.split(" ")[3];
    await expectJson(webby, { type: "join", nick: guest });

    webby.sendJson({ type: "msg", text: "over wss" });
    await line.stdout.waitFor("<webby> over wss");
    line.write("over openssl s_client\n");
    await expectJson(webby, { type: "msg", from: guest, text: "over openssl s_client" });

    assert.deepEqual(await httpsGet(web, "/healthz", ca), [200, "ok"]);
    const [status, metrics] = await httpsGet(web, "/metrics", ca);
    assert.equal(status, 200);
    assert.match(metrics, /^parley_connections\{transport="ws",mode="native"\} 1$/m);
    assert.match(metrics, /^parley_connections\{transport="tls",mode="line"\} 1$/m);

    // Plain HTTP on the web port gets no page: the port speaks TLS only.
    const plain = net.connect({ port: web, host: "127.0.0.1" });
    plain.on("error", () => {});
    let answered = "";
    plain.on("data", (chunk) => answered += chunk.toString("latin1"));
    await within(once(plain, "connect"), "a plain connection to the web port");
    plain.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await within(once(plain, "close"), "the web port to close a plain connection");
    assert.doesNotMatch(answered, /\bok$/);
  });

  test(
    name("a renewed certificate serves new connections on the web port; WebSockets stay"),
    async () => {
      using certs = await TestCertificates.make();
      const ca = readFileSync(certs.caFile, "utf8");
      const { server, web } = await startSecureWeb(runtime, certs);
      await using _server = server;
      const first = certs.fingerprint();
      assert.equal(await fingerprintAt(web, ca), first);
      await using old = await wssMember(web, "old", ca);

      await certs.renew();
      const renewed = certs.fingerprint();
      await server.stderr.waitFor(`tls: certificate renewed from ${certs.certFile}`);
      assert.equal(await fingerprintAt(web, ca), renewed);
      assert.deepEqual(await httpsGet(web, "/healthz", ca), [200, "ok"]);

      // The member on the old certificate chats on with one on the new.
      await using fresh = await wssMember(web, "fresh", ca);
      await expectJson(old, { type: "join", nick: "fresh" });
      fresh.sendJson({ type: "msg", text: "on the new certificate" });
      await expectJson(old, { type: "msg", from: "fresh", text: "on the new certificate" });
      old.sendJson({ type: "msg", text: "still on the old one" });
      await expectJson(fresh, { type: "msg", from: "old", text: "still on the old one" });
    },
  );

  test(
    name("a WSS member that stops reading is closed as too slow; the others chat on"),
    async () => {
      // The slow member is `openssl s_client`, fed a WebSocket handshake and a hello, whose output
      // nobody reads: once its pipe is full it stops reading from the server. (A test's own TLS
      // socket cannot stop reading: see tls_test.ts.) Alice floods the lobby over plain TCP, 50
      // messages of 1 KiB to a ping, until the server drops it.
      using certs = await TestCertificates.make();
      const ca = readFileSync(certs.caFile, "utf8");
      const { server, web } = await startSecureWeb(runtime, certs, [
        ...["--send-queue", "65536", "--rate", "0"],
      ]);
      await using _server = server;
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await wssMember(web, "bob", ca);
      await alice.expect({ type: "join", nick: "bob" });
      const slow = spawn("openssl", [
        ...["s_client", "-quiet", "-connect", `127.0.0.1:${web}`, "-CAfile", certs.caFile],
      ], { stdio: ["pipe", "pipe", "ignore"] });
      const exited = once(slow, "exit");
      try {
        const handshake = [
          "GET /ws HTTP/1.1",
          `Host: 127.0.0.1:${web}`,
          "Upgrade: websocket",
          "Connection: Upgrade",
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
          "Sec-WebSocket-Version: 13",
        ].join("\r\n") + "\r\n\r\n";
        slow.stdin!.write(handshake);
        slow.stdin!.write(RawWebSocket.encode(TEXT, Buffer.from('{"type":"hello","nick":"slow"}')));
        await alice.expect({ type: "join", nick: "slow" });
        const text = "x".repeat(1024);
        let left = false;
        let sent = 0;
        for (let batch = 0; !left; batch++) {
          assert.ok(batch < 10_000, "the slow member was never closed");
          for (let i = 0; i < 50; i++) alice.send({ type: "msg", text });
          sent += 50;
          alice.send({ type: "ping" });
          for (let reply = await alice.next(); reply?.type !== "pong"; reply = await alice.next()) {
            assert.deepEqual([reply?.type, reply?.nick], ["leave", "slow"]);
            left = true;
          }
        }
        alice.send({ type: "msg", text: "the others chat on" });
        // Bob, on WSS too, loses nothing of the flood.
        let floodSeen = 0;
        while (true) {
          const message = await bob.nextJson("the flood, then the last message");
          assert.ok(message !== null, `bob was closed after ${floodSeen} of ${sent}`);
          if (message.type !== "msg") continue;
          if (message.text !== text) break;
          floodSeen++;
        }
        assert.equal(floodSeen, sent);
        // Closed for its send queue, as /metrics counts once the session has finished closing:
        // at once when the peer goes, rather than after the time given a peer that does not read.
        slow.kill("SIGKILL");
        const counted = async () => {
          const closes = /^parley_connections_closed_total\{reason="send_queue_full"\} 1$/m;
          while (!closes.test((await httpsGet(web, "/metrics", ca))[1])) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        };
        await within(counted(), "the slow member's close in /metrics");
      } finally {
        slow.kill("SIGKILL");
        await within(exited, "openssl to exit");
      }
    },
  );

  test(name("the page over WSS chats with an nc member"), async () => {
    using certs = await TestCertificates.make();
    const { server, url } = await startSecureWeb(runtime, certs);
    await using _server = server;
    await using browser = await launchBrowser([
      `--ignore-certificate-errors-spki-list=${spkiHash(certs.certFile)}`,
    ]);
    const ann = await WebPage.join(browser, url, "ann");
    await using nc = (await LineMember.join(server.port)).member;
    await ann.page.locator("#log li.notice", { hasText: "joined" }).waitFor();
    nc.say("hello from nc");
    await ann.say("hello from the page");
    const said = await ann.waitForSaid(2);
    assert.deepEqual(said.map(({ text }) => text).sort(), [
      "hello from nc",
      "hello from the page",
    ]);
    await nc.lines.waitFor("<ann> hello from the page");
    assert.deepEqual(ann.errors, []);
  });
}
