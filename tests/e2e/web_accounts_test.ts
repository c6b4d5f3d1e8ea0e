// The browser page with registered nicks, in real chromium on both runtimes: the password typed on
// the join form identifies the nick, is kept in memory only, and is given again when the page
// reconnects to a server restarted with --data; served in clear from another machine, the page
// warns before a password is typed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { launchBrowser, startWebServer } from "./_browser.ts";
import { EVENT_TIMEOUT_MS, RUNTIMES, TestMember } from "./_helpers.ts";

async function temporaryDirectory(): Promise<AsyncDisposable & { path: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "parley-web-accounts-"));
  return { path: dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

/** This machine's address on a network, not loopback. */
function networkAddress(): string | undefined {
  return Object.values(os.networkInterfaces()).flat()
    .find((face) => face && face.family === "IPv4" && !face.internal)?.address;
}

for (const runtime of RUNTIMES) {
  const name = (what: string) => `web page [${runtime}] ${what}`;

  test(name("identifies a registered nick from the join form, again after a restart"), async () => {
    await using dir = await temporaryDirectory();
    const data = ["--data", dir.path];
    let { server, url, httpPort } = await startWebServer(runtime, data);
    try {
      {
        await using owner = await TestMember.join(server.port, "ann");
        owner.send({ type: "register", password: "anns-pw" });
        await owner.expect({
          type: "notice",
          text: "ann is registered to you; next time, /login ann PASSWORD",
        });
      }
      await using browser = await launchBrowser();
      const page = await (await browser.newContext()).newPage();
      page.setDefaultTimeout(EVENT_TIMEOUT_MS);
      await page.goto(url);
      assert.equal(await page.isHidden("#login-plain"), true, "no warning on localhost");
      // Without the password, the form says why.
      await page.fill("#login-nick", "ann");
      await page.press("#login-nick", "Enter");
      await page.locator("#login-problem", { hasText: "The nick ann is registered" }).waitFor();
      await page.fill("#login-password", "anns-pw");
      await page.press("#login-password", "Enter");
      await page.locator("#log li.notice", { hasText: "you are ann in " }).waitFor();
      const stored = await page.$eval("body", () => JSON.stringify({ ...localStorage }));
      assert.ok(!stored.includes("anns-pw"), stored);

      assert.equal(await server.stop(), 0);
      await page.locator("#log li.notice", { hasText: "disconnected: " }).first().waitFor();
      ({ server } = await startWebServer(runtime, data, httpPort));
      // The backoff reaches 10 s between attempts at most.
      await page.locator("#log li.notice", { hasText: "reconnected" }).waitFor({ timeout: 20_000 });
      await using guest = await TestMember.connect(server.port);
      guest.send({ type: "hello", nick: "ann" });
      await guest.expect({ type: "error", code: "nick_registered" });
      guest.send({ type: "hello", nick: "bob" });
      const welcome = await guest.expect({ type: "welcome", nick: "bob" });
      assert.deepEqual(welcome.members, ["ann", "bob"], "ann is back, as ann");
    } finally {
      await server[Symbol.asyncDispose]();
    }
  });

  test(name("warns on the join form when served in clear from another machine"), async (t) => {
    const address = networkAddress();
    if (!address) return t.skip("this machine has no network address but loopback");
    const { server, httpPort } = await startWebServer(runtime, ["--host", "0.0.0.0"]);
    await using _server = server;
    await using browser = await launchBrowser();
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(EVENT_TIMEOUT_MS);
    await page.goto(`http://${address}:${httpPort}/`);
    await page.locator("#login-plain", { hasText: "This page is not encrypted (http:)" }).waitFor();
  });
}
