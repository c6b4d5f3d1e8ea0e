// --identify-needs-tls end to end, on both runtimes: passwords are taken over TLS, and refused with
// tls_required over plain TCP (native and nc) and plain WebSocket, where anyone on the way could
// read them. Registered nicks stay held either way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  LineMember,
  LOOPBACK_ARGS,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  Subprocess,
  TestMember,
} from "./_helpers.ts";
import { TestCertificates } from "./_certs.ts";
import { RawWebSocket, WebMember, webPortOf } from "./_websocket.ts";

const REFUSAL =
  "This server takes passwords over TLS only: connect with TLS (client --tls), or over HTTPS";

function temporaryDirectory(): Disposable & { path: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-accounts-tls-"));
  return { path: dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const portOf = (line: string) => Number(line.slice(line.lastIndexOf(":") + 1));

for (const runtime of RUNTIMES) {
  const name = (what: string) => `accounts [${runtime}] ${what}`;

  test(name("--identify-needs-tls takes passwords over TLS, refuses them in clear"), async () => {
    using dir = temporaryDirectory();
    using certs = await TestCertificates.make();
    await using server = new ServerProcess(
      scriptCommand(runtime, "server.ts", [
        ...LOOPBACK_ARGS,
        "--quiet",
        ...["--port", "0", "--http-port", "0", "--data", dir.path, "--identify-needs-tls"],
        ...["--tls-cert", certs.certFile, "--tls-key", certs.keyFile, "--tls-port", "0"],
      ]),
    );
    const plainPort = portOf(await server.stdout.waitFor(/^listening on /, "the plain line"));
    const tlsPort = portOf(await server.stdout.waitFor(/^listening with TLS/, "the TLS line"));
    const wssPort = webPortOf(await server.stdout.waitFor(/^web client at https:/, "the web line"));

    // Over TLS, the client registers.
    await using client = new Subprocess(
      scriptCommand(runtime, "client.ts", [
        ...["127.0.0.1", String(tlsPort), "--ca", certs.caFile, "--nick", "alice"],
      ]),
    );
    assert.equal(await client.stdout.next(), "* you are alice in lobby; nobody else is here yet");
    client.write("/register alices-pw\n");
    assert.equal(
      await client.stdout.next(),
      "* alice is registered to you; next time, /login alice PASSWORD",
    );
    client.endInput();
    assert.equal(await client.exitCode(), 0);

    // Over plain TCP, no password is taken, right or wrong, and the nick stays held.
    await using plain = await TestMember.connect(plainPort);
    plain.send({ type: "hello", nick: "alice", password: "alices-pw" });
    const refused = await plain.expect({ type: "error", code: "tls_required" });
    assert.equal(refused.message, REFUSAL);
    plain.send({ type: "hello", nick: "alice" });
    await plain.expect({ type: "error", code: "nick_registered" });
    plain.send({ type: "hello", nick: "bob" });
    await plain.expect({ type: "welcome", nick: "bob" });
    plain.send({ type: "register", password: "bobs-pw" });
    await plain.expect({ type: "error", code: "tls_required" });

    const { member } = await LineMember.join(plainPort);
    await using _member = member;
    member.say("/login alice alices-pw");
    assert.equal(await member.lines.next("the refusal"), `*** ${REFUSAL}`);

    // Over WSS, the web port served with the certificate, it is taken.
    await using wss = await RawWebSocket.open(wssPort, {}, readFileSync(certs.caFile, "utf8"));
    wss.sendJson({ type: "hello", nick: "alice", password: "alices-pw" });
    assert.equal((await wss.nextJson("the welcome"))?.type, "welcome");
  });

  test(name("--identify-needs-tls refuses passwords over plain WebSocket"), async () => {
    using dir = temporaryDirectory();
    await using server = await ServerProcess.start(runtime, [
      ...LOOPBACK_ARGS,
      ...["--quiet", "--http-port", "0", "--data", dir.path, "--identify-needs-tls"],
    ]);
    const web = webPortOf(await server.stdout.waitFor(/^web client at /, "the web line"));
    await using member = await WebMember.join(web, "carol");
    member.send({ type: "register", password: "carols-pw" });
    const refused = await member.expect({ type: "error", code: "tls_required" });
    assert.equal(refused.message, REFUSAL);
  });
}
