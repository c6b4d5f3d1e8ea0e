// Moderation on the browser page, under each runtime: real chromium tabs on the server's web port.
// An operator who registered on the page kicks a member, whose page shows why; a member who is no
// operator types /ban and the page shows the refusal, as an error. The kicked page does not come
// back by itself: its join form says why, and "Join again" brings it back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, startWebServer, WebPage } from "./_browser.ts";
import { temporaryDirectory } from "./_moderation.ts";
import { RUNTIMES } from "./_helpers.ts";

for (const runtime of RUNTIMES) {
  const name = (what: string) => `moderation page [${runtime}] ${what}`;

  test(name("an operator kicks from the page; a non-operator's /ban is refused"), async () => {
    using dir = temporaryDirectory();
    const { server, url } = await startWebServer(runtime, [
      "--data",
      dir.path,
      "--operator",
      "root",
    ]);
    await using _server = server;
    await using browser = await launchBrowser();
    const root = await WebPage.join(browser, url, "root");
    await root.say("/register root-password");
    await root.page.locator("#log li.notice", { hasText: "root is registered to you" }).waitFor();
    const bob = await WebPage.join(browser, url, "bob");
    const carol = await WebPage.join(browser, url, "carol");

    await carol.say("/ban bob spam");
    const refusal = carol.page.locator("#log li.notice.error", {
      hasText: "/ban is for operators of lobby: identify first (/identify PASSWORD)",
    });
    await refusal.waitFor();
    assert.equal(await refusal.count(), 1);

    await root.say("/kick bob cool off");
    // Bob's page does not come back by itself: the join form says why and offers the way back.
    await bob.page.locator("#login-problem", {
      hasText: "You were kicked from lobby by root (cool off)",
    }).waitFor();
    assert.equal(await bob.page.locator("#login-join").textContent(), "Join again");
    assert.equal(await bob.page.locator("#chat").isHidden(), true);
    await carol.page.locator("#log li.notice", { hasText: "bob was kicked by root (cool off)" })
      .waitFor();
    await root.page.locator("#log li.notice", { hasText: "bob was kicked by root (cool off)" })
      .waitFor();
    await root.page.locator("#member-list li", { hasText: "bob" }).waitFor({ state: "detached" });
    await bob.page.click("#login-join");
    await bob.page.locator("#log li.notice", { hasText: "you are bob in lobby" }).waitFor();
    await root.page.locator("#member-list li", { hasText: "bob" }).waitFor();
    assert.deepEqual([...root.errors, ...bob.errors, ...carol.errors], []);
  });
}
