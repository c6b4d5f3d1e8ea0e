// Makes docs/screenshot.png (the page on a wide screen, light) and docs/screenshot-phone.png (on a
// phone, dark): a server on the loopback interface, three people in chromium talking in two rooms
// and privately, then a picture of one of them. The README shows both.
//
//   deno run -A tools/screenshot.ts
import path from "node:path";
import { launchBrowser, startWebServer, WebPage } from "../tests/e2e/_browser.ts";
import { ROOT } from "../tests/e2e/_helpers.ts";

const { server, url } = await startWebServer("deno");
try {
  await using browser = await launchBrowser();
  const alice = await WebPage.join(browser, url, "alice", { width: 1000, height: 560 });
  const bob = await WebPage.join(browser, url, "bob");
  const carol = await WebPage.join(browser, url, "carol");
  // alice is in two rooms and looks at the lobby.
  await alice.say("/join den");
  await alice.page.locator("h2", { hasText: "den" }).waitFor();
  await alice.say("/join lobby");
  await alice.page.locator("h2", { hasText: "lobby" }).waitFor();
  const lobbyLines = async (page: WebPage, line: string, count: number) => {
    await page.say(line);
    await alice.waitForSaid(count);
  };
  await lobbyLines(alice, "morning all! the build is green again", 1);
  await lobbyLines(bob, "nice. was it the flaky port test?", 2);
  await lobbyLines(carol, "it was; I pinned the loopback address", 3);
  await lobbyLines(bob, "/me brings coffee", 4);
  await lobbyLines(carol, "alice: <b>tags</b> stay text, by the way", 5);
  await carol.say("/join den");
  await carol.page.locator("h2", { hasText: "den" }).waitFor();
  await carol.say("anyone up for a review later?");
  await bob.say("/msg alice lunch at noon?");
  await alice.page.locator("#conversation-list li.pm").waitFor();
  await lobbyLines(bob, "alice, do you have a minute?", 6);
  await alice.page.locator("#conversation-list li.room .badge").waitFor();
  await alice.page.fill("#line", "sure, give me five");
  await alice.page.screenshot({ path: path.join(ROOT, "docs", "screenshot.png") });

  const phone = await browser.newPage({
    viewport: { width: 390, height: 640 },
    colorScheme: "dark",
  });
  await phone.goto(url);
  await phone.fill("#login-nick", "dave");
  await phone.press("#login-nick", "Enter");
  await phone.locator("#log li.said").first().waitFor();
  await bob.say("welcome dave: history shows with the time it was said");
  await phone.locator("#log li.said", { hasText: "welcome dave" }).waitFor();
  await phone.screenshot({ path: path.join(ROOT, "docs", "screenshot-phone.png") });
  console.log("wrote docs/screenshot.png and docs/screenshot-phone.png");
} finally {
  await server.stop();
}
