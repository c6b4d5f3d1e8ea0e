// The browser page's /ignore and /whois, end to end: a real chromium tab on the server's web port,
// members on its TCP port, under each runtime. The ignore list is the server's answer, kept in the
// page's localStorage and sent in every hello, so it outlasts a reload as it does a reconnect; when
// the ignored member changes nick, the list the page keeps names the new one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, startWebServer, WebPage } from "./_browser.ts";
import { RUNTIMES, TestMember } from "./_helpers.ts";

for (const runtime of RUNTIMES) {
  test(`web page [${runtime}] /ignore hides a nick, across a reload; /whois tells`, async () => {
    const { server, url } = await startWebServer(runtime);
    await using _server = server;
    await using browser = await launchBrowser();
    await using carol = await TestMember.join(server.port, "carol");
    await using bob = await TestMember.join(server.port, "bob");
    const ann = await WebPage.join(browser, url, "ann");
    const notice = (text: string | RegExp) =>
      ann.page.locator("#log li.notice", { hasText: text }).last().waitFor();

    await ann.say("/ignore bob");
    await notice("ignoring: bob");
    bob.send({ type: "msg", text: "bob: hidden" });
    bob.send({ type: "msg", to: "ann", text: "bob: hidden too" });
    bob.send({ type: "ping" });
    while ((await bob.next("bob's pong"))?.type !== "pong");
    carol.send({ type: "msg", text: "carol: shown" });
    assert.deepEqual(await ann.waitForSaid(1), [{ from: "carol", text: "carol: shown" }]);

    await ann.say("/whois carol");
    await notice(
      /^carol \(not identified\), in lobby; here since \d\d:\d\d, idle \d+ s; over tcp, native mode$/,
    );
    bob.send({ type: "whois", nick: "ann" });
    let whois;
    while ((whois = await bob.next("the whois"))?.type !== "whois");
    assert.equal(whois?.transport, "ws");
    assert.equal(whois?.mode, "native");
    await ann.say("/whois nobody");
    await notice("Nobody here is called nobody");

    // A reload: the same nick again, and the replayed history has none of bob's lines.
    await ann.page.reload();
    await ann.page.press("#login-nick", "Enter");
    await notice("you are ann in ");
    assert.deepEqual(await ann.waitForSaid(1), [{ from: "carol", text: "carol: shown" }]);
    await ann.say("/ignore");
    await notice("ignoring: bob");
    await ann.say("/unignore bob");
    await notice("ignoring: nobody");
    bob.send({ type: "msg", text: "bob: seen" });
    assert.deepEqual((await ann.waitForSaid(2))[1], { from: "bob", text: "bob: seen" });
    assert.deepEqual(ann.errors, []);
  });

  test(`web page [${runtime}] an ignore follows a rename, across a reload`, async () => {
    const { server, url } = await startWebServer(runtime);
    await using _server = server;
    await using browser = await launchBrowser();
    await using bob = await TestMember.join(server.port, "bob");
    const ann = await WebPage.join(browser, url, "ann");
    const notice = (text: string) =>
      ann.page.locator("#log li.notice", { hasText: text }).last().waitFor();
    await ann.say("/ignore bob");
    await notice("ignoring: bob");
    bob.send({ type: "nick", nick: "bob2" });
    await notice("bob is now known as bob2");
    await notice("ignoring: bob2");
    // The page sends what it kept in its next hello: the server's list, asked for, says bob2.
    await ann.page.reload();
    await ann.page.press("#login-nick", "Enter");
    await notice("you are ann in ");
    await ann.say("/ignore");
    await notice("ignoring: bob2");
    assert.deepEqual(ann.errors, []);
  });
}
