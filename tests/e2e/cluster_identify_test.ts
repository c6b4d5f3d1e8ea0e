// --identify-grace and --identify-needs-tls on the nodes of a cluster, end to end with a real
// redis-server, a Deno node and a Bun node: a tutorial client greeting with a nick registered on
// the other node keeps it for the grace, is renamed when it stays silent (every node's members see
// the rename), keeps it when it identifies, and loses it at once to whoever gives the password on
// either node; passwords are refused on plain TCP and taken over TLS, on both nodes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { HeaderTutorialClient } from "./_tutorial_clients.ts";
import {
  type Json,
  LineMember,
  nativeFrames,
  type ServerProcess,
  TestMember,
  within,
} from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { TestCertificates } from "./_certs.ts";
import { joinEcho, startNode, until } from "./_cluster.ts";
import { frame } from "../_frames.ts";
import { WebMember, webPortOf } from "./_websocket.ts";

const REFUSAL =
  "This server takes passwords over TLS only: connect with TLS (client --tls), or over HTTPS";

// A native member on `server` that registers `nick` with `password`, then leaves.
async function registerAndLeave(server: ServerProcess, nick: string, password: string) {
  await using owner = await joinEcho(server.port, nick);
  owner.send({ type: "register", password });
  await until(owner, {
    type: "notice",
    text: `${nick} is registered to you; next time, /login ${nick} PASSWORD`,
  });
}

test("cluster grace: a greeting silent for the grace is renamed on every node", async () => {
  await using redis = await RedisServer.start(true);
  const grace = ["--identify-grace", "0.5"];
  await using deno = await startNode("deno", redis, grace);
  await using bun = await startNode("bun", redis, grace);
  await registerAndLeave(deno, "carol", "pass-word");
  await using denoWatcher = await joinEcho(deno.port, "dw");
  await using bunWatcher = await joinEcho(bun.port, "bw");

  // At Bun, the nickname-first tutorial client greets as carol, registered on Deno.
  const greeted = await LineMember.connect(bun.port);
  await using _greeted = greeted;
  greeted.socket.write("carol connection...");
  await greeted.lines.waitFor(/^\*\*\* you are carol in /, "the registered nick, for now");
  await greeted.lines.waitFor(
    "*** carol is registered: /identify PASSWORD within 0.5 s, or you will be renamed",
    "the notice",
  );
  const renamed = await until(denoWatcher, { type: "nick", from: "carol" });
  assert.match(String(renamed.nick), /^guest\d+$/);
  assert.deepEqual(await until(bunWatcher, { type: "nick", from: "carol" }), renamed);
  await greeted.lines.waitFor(
    `*** you did not identify as carol within 0.5 s: you are ${renamed.nick} now`,
    "the notice saying why",
  );
  // The lease went with it: the owner has the nick, on either node.
  await using _owner = await joinEcho(bun.port, "carol", { password: "pass-word" });
});

test("cluster grace: identified in time it stays; the password on the other node takes it", async () => {
  await using redis = await RedisServer.start(true);
  await using deno = await startNode("deno", redis, ["--identify-grace", "30"]);
  await using bun = await startNode("bun", redis, ["--identify-grace", "30"]);
  await registerAndLeave(bun, "jules", "jules-pw");
  await registerAndLeave(bun, "vince", "vince-pw");
  await using watcher = await joinEcho(bun.port, "watcher");

  // The classic tutorial client, at Deno, cannot give a password before it is in: the grace.
  await using jules = await HeaderTutorialClient.connect(deno.port, "jules");
  await jules.waitFor("*", /^jules is registered: \/identify PASSWORD within 30 s/);
  await until(watcher, { type: "join", nick: "jules" });
  jules.type("/identify jules-pw");
  await jules.waitFor("*", "you are identified as jules");
  jules.type("still jules");
  await until(watcher, { type: "msg", from: "jules", text: "still jules" });

  // vince's greeting holds the nick for its grace; vince himself logs in on Bun and takes it.
  const greeted = await LineMember.connect(deno.port);
  await using _greeted = greeted;
  greeted.socket.write("vince connection...");
  await greeted.lines.waitFor(/^\*\*\* vince is registered: \/identify PASSWORD within 30 s/);
  await until(watcher, { type: "join", nick: "vince" });
  await using _vince = await joinEcho(bun.port, "vince", { password: "vince-pw" });
  const renamed = await until(watcher, { type: "nick", from: "vince" });
  await greeted.lines.waitFor(
    "*** your nick vince was taken by a connection that gave its password; " +
      `you are now ${renamed.nick}`,
  );
});

test("cluster grace: --identify-grace 0 refuses a greeting the registered nick at once", async () => {
  await using redis = await RedisServer.start(true);
  await using deno = await startNode("deno", redis, ["--identify-grace", "0"]);
  await registerAndLeave(deno, "carol", "pass-word");
  const greeted = await LineMember.connect(deno.port);
  await using _greeted = greeted;
  greeted.socket.write("carol connection...");
  await greeted.lines.waitFor(/^\*\*\* you are guest\d+ in /, "a guest nick");
  await greeted.lines.waitFor(
    "*** not carol: The nick carol is registered; give its password, or choose another",
  );
});

// A native member over TLS, trusting `ca`: what it is sent, and a way to send.
async function tlsMember(port: number, ca: string) {
  const socket = tls.connect({ port, host: "127.0.0.1", ca });
  await within(once(socket, "secureConnect"), "the TLS handshake");
  const inbox = nativeFrames(socket);
  return {
    send: (message: Json) => socket.write(frame(message)),
    next: (what: string) => inbox.next(what),
    [Symbol.asyncDispose]: async () => {
      socket.destroy();
      await once(socket, "close").catch(() => {});
    },
  };
}

test("cluster --identify-needs-tls: passwords over TLS on any node, refused in clear", async () => {
  await using redis = await RedisServer.start(true);
  using certs = await TestCertificates.make();
  const ca = readFileSync(certs.caFile, "utf8");
  const args = [
    "--identify-needs-tls",
    ...["--tls-cert", certs.certFile, "--tls-key", certs.keyFile, "--tls-port", "0"],
  ];
  const tlsPort = async (server: ServerProcess) => {
    const line = await server.stdout.waitFor(/^listening with TLS/, "the TLS line");
    return Number(line.slice(line.lastIndexOf(":") + 1));
  };
  await using deno = await startNode("deno", redis, args);
  const denoTls = await tlsPort(deno);
  await using bun = await startNode("bun", redis, args);
  const bunTls = await tlsPort(bun);

  // Registered over TLS on Bun.
  {
    await using owner = await tlsMember(bunTls, ca);
    owner.send({ type: "hello", nick: "alice" });
    assert.equal((await owner.next("the welcome"))?.type, "welcome");
    owner.send({ type: "register", password: "alices-pw" });
    assert.equal(
      (await owner.next("the registration"))?.text,
      "alice is registered to you; next time, /login alice PASSWORD",
    );
  }
  // In clear, on either node: no password taken, right or wrong; the nick stays held.
  for (const node of [deno, bun]) {
    await using plain = await joinEcho(node.port, `bob${node === deno ? 1 : 2}`);
    plain.send({ type: "register", password: "bobs-pw" });
    const refused = await until(plain, { type: "error" });
    assert.deepEqual([refused.code, refused.message], ["tls_required", REFUSAL]);
    plain.send({ type: "login", nick: "alice", password: "alices-pw" });
    assert.equal((await until(plain, { type: "error" })).code, "tls_required");
    plain.send({ type: "nick", nick: "alice" });
    assert.equal((await until(plain, { type: "error" })).code, "nick_registered");
  }
  {
    await using plain = await TestMember.connect(deno.port);
    plain.send({ type: "hello", nick: "alice", password: "alices-pw" });
    const refused = await plain.next("the refusal");
    assert.deepEqual([refused?.code, refused?.message], ["tls_required", REFUSAL]);
  }
  // As on one server, a password in a hello for a nick nobody registered is ignored, not refused.
  await using _carl = await joinEcho(deno.port, "carl", { password: "unregistered" });
  const { member: line } = await LineMember.join(bun.port);
  await using _line = line;
  line.say("/login alice alices-pw");
  await line.lines.waitFor(`*** ${REFUSAL}`, "the refusal at nc");

  // A third node, with a plain web port: its WebSocket members send no password either.
  await using web = await startNode("bun", redis, ["--identify-needs-tls", "--http-port", "0"]);
  const webPort = webPortOf(await web.stdout.waitFor(/^web client at /, "the web line"));
  await using webMember = await WebMember.join(webPort, "dora");
  webMember.send({ type: "register", password: "doras-pw" });
  const overWeb = await webMember.expect({ type: "error", code: "tls_required" });
  assert.equal(overWeb.message, REFUSAL);

  // Over TLS on Deno, it is taken.
  await using again = await tlsMember(denoTls, ca);
  again.send({ type: "hello", nick: "alice", password: "alices-pw" });
  const welcome = await again.next("the welcome");
  assert.equal(welcome?.type, "welcome", JSON.stringify(welcome));
});
