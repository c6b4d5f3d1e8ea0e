// The browser page, end to end: real chromium tabs on the server's web port, beside members on
// its TCP port (nc, the terminal client, native frames), under each runtime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { launchBrowser, startWebServer, WebPage } from "./_browser.ts";
import {
  LineMember,
  LOOPBACK_ARGS,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  Subprocess,
  TestMember,
} from "./_helpers.ts";

async function temporaryDirectory(): Promise<AsyncDisposable & { path: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "parley-web-"));
  return { path: dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

/** The next `count` lines of `reader` that are someone's chat (`<nick> text`), skipping notices. */
async function chatLines(
  reader: { next(what: string): Promise<string | null> },
  count: number,
): Promise<string[]> {
  const lines: string[] = [];
  while (lines.length < count) {
    const line = await reader.next(`chat line ${lines.length + 1} of ${count}`);
    if (line === null) throw new Error(`ended after ${lines.length} chat lines: ${lines}`);
    if (line.startsWith("<")) lines.push(line);
  }
  return lines;
}

for (const runtime of RUNTIMES) {
  const name = (what: string) => `web page [${runtime}] ${what}`;

  test(name("two pages, an nc member and a terminal client see one order"), async () => {
    const { server, url } = await startWebServer(runtime);
    await using _server = server;
    await using browser = await launchBrowser();
    const ann = await WebPage.join(browser, url, "ann");
    const ben = await WebPage.join(browser, url, "ben");
    await using nc = (await LineMember.join(server.port)).member;
    nc.say("/nick cat");
    await nc.lines.waitFor(/is now known as cat$/);
    await using dan = new Subprocess(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(server.port), "--nick", "dan"]),
    );
    await ann.page.locator("#log li.notice", { hasText: "dan joined" }).waitFor();

    // Everyone talks at once; the server's order is the one order everyone must see.
    const lines = (nick: string) => [1, 2, 3].map((n) => `${nick} says ${n}`);
    dan.write(lines("dan").map((line) => `${line}\n`).join(""));
    for (const line of lines("cat")) nc.say(line);
    await Promise.all([ann, ben].map(async (page, i) => {
      for (const line of lines(i === 0 ? "ann" : "ben")) await page.say(line);
    }));

    const order = (await ann.waitForSaid(12)).map(({ from, text }) => `<${from}> ${text}`);
    assert.equal(order.length, 12, order.join("\n"));
    assert.deepEqual(
      (await ben.waitForSaid(12)).map(({ from, text }) => `<${from}> ${text}`),
      order,
      "both pages, their own lines included",
    );
    // A terminal shows what its user typed: nc and the piped client print the others' lines.
    const others = (nick: string) => order.filter((line) => !line.startsWith(`<${nick}>`));
    assert.deepEqual(await chatLines(nc.lines, 9), others("cat"), "nc");
    assert.deepEqual(await chatLines(dan.stdout, 9), others("dan"), "the terminal client");
    assert.deepEqual([...ann.errors, ...ben.errors], []);
  });

  test(name("reconnects after a restart with --data and shows each missed line once"), async () => {
    await using dir = await temporaryDirectory();
    const data = ["--data", dir.path];
    let { server, url, httpPort } = await startWebServer(runtime, data);
    try {
      await using browser = await launchBrowser();
      const ann = await WebPage.join(browser, url, "ann");
      {
        await using bob = await TestMember.join(server.port, "bob");
        bob.send({ type: "msg", text: "before 1" });
        bob.send({ type: "msg", text: "before 2" });
        await ann.waitForSaid(2);
      }
      assert.equal(await server.stop(), 0);
      await ann.page.locator("#log li.notice", { hasText: "disconnected: " }).first().waitFor();

      // The room goes on while the page cannot come back: the same data, no web port.
      {
        await using away = await ServerProcess.start(runtime, [
          ...LOOPBACK_ARGS,
          "--quiet",
          ...data,
        ]);
        await using bob = await TestMember.join(away.port, "bob");
        for (const n of [1, 2, 3]) bob.send({ type: "msg", text: `missed ${n}` });
        // The pong comes after the history bob joined to and after his messages are taken.
        bob.send({ type: "ping" });
        while ((await bob.next("the pong"))?.type !== "pong");
        assert.equal(await away.stop(), 0);
      }

      ({ server } = await startWebServer(runtime, data, httpPort));
      // The backoff reaches 10 s between attempts at most.
      await ann.page.locator("#log li.notice", { hasText: "reconnected" }).waitFor({
        timeout: 20_000,
      });
      await using bob = await TestMember.join(server.port, "bob");
      bob.send({ type: "msg", text: "after" });
      await ann.page.locator("#log li.said", { hasText: "after" }).waitFor();
      assert.deepEqual((await ann.said()).map(({ text }) => text), [
        "before 1",
        "before 2",
        "missed 1",
        "missed 2",
        "missed 3",
        "after",
      ]);
      assert.deepEqual(ann.errors, []);
    } finally {
      await server[Symbol.asyncDispose]();
    }
  });

  test(name("shows markup in a message as text and never runs it"), async () => {
    const { server, url } = await startWebServer(runtime);
    await using _server = server;
    await using browser = await launchBrowser();
    const ann = await WebPage.join(browser, url, "ann");
    await using bob = await TestMember.join(server.port, "bob");
    const attack = `<img src=x onerror="window.pwned=1"><b>bold</b> & &lt;`;
    bob.send({ type: "msg", text: attack });
    await ann.waitForSaid(1);
    await ann.say(`<script>window.pwned = 2</script>`);
    assert.deepEqual(await ann.waitForSaid(2), [
      { from: "bob", text: attack },
      { from: "ann", text: "<script>window.pwned = 2</script>" },
    ]);
    assert.equal(await ann.page.locator("#log img, #log b, #log script").count(), 0);
    assert.equal(await ann.page.evaluate(() => "pwned" in globalThis), false);
    assert.deepEqual(ann.errors, []);
  });

  test(
    name("counts unread lines and mentions, and keeps private conversations apart"),
    async () => {
      const { server, url } = await startWebServer(runtime);
      await using _server = server;
      await using browser = await launchBrowser();
      // A phone's width, and the keyboard only.
      const ann = await WebPage.join(browser, url, "ann", { width: 390, height: 700 });
      await using bob = await TestMember.join(server.port, "bob");
      await ann.say("/join den");
      await ann.page.locator("h2", { hasText: "den" }).waitFor();
      bob.send({ type: "msg", text: "anyone?" });
      bob.send({ type: "msg", text: "ann: lunch?" });
      bob.send({ type: "msg", to: "ann", text: "psst" });
      const lobby = ann.page.locator("#conversation-list li.room", { hasText: "lobby" });
      await lobby.locator(".badge", { hasText: "2" }).waitFor();
      await ann.page.locator("#conversation-list li.pm", { hasText: "bob" }).waitFor();
      assert.equal(await ann.page.title(), "(2) den · Parley");

      await ann.page.keyboard.press("Alt+ArrowUp"); // back round the list to lobby
      await ann.page.locator("h2", { hasText: "lobby" }).waitFor();
      assert.equal(await lobby.locator(".badge").count(), 0);
      assert.equal(await ann.page.title(), "(1) lobby · Parley");
      assert.equal(await ann.page.locator("#log li.said.mention").count(), 1);
      // Tab completes a nick, and a line goes to the conversation on screen.
      await ann.page.fill("#line", "b");
      await ann.page.press("#line", "Tab");
      assert.equal(await ann.page.inputValue("#line"), "bob: ");
      await ann.page.keyboard.press("Alt+ArrowUp"); // round from the first to the last
      await ann.page.locator("h2", { hasText: "@bob" }).waitFor();
      await ann.say("hi bob");
      await bob.expect({ type: "msg", from: "ann", to: "bob", text: "hi bob" });
      assert.deepEqual(await ann.waitForSaid(2), [
        { from: "bob", text: "psst" },
        { from: "ann", text: "hi bob" },
      ]);
      assert.equal(await ann.page.title(), "bob · Parley");

      // Another tab of the same browser remembers the nick, and is told it is taken.
      const again = await ann.page.context().newPage();
      await again.goto(ann.page.url());
      assert.equal(await again.inputValue("#login-nick"), "ann");
      await again.press("#login-nick", "Enter");
      await again.locator("#login-problem", { hasText: "taken" }).waitFor();
      assert.equal(await again.locator("#login").isVisible(), true);
    },
  );
}
