// A real browser for the end-to-end tests: Debian's chromium, driven by playwright-core, and the
// Parley page in it as a person uses it (typing into the form and the line, reading the log).
import { type Browser, chromium, type Page } from "playwright-core";
import { EVENT_TIMEOUT_MS, type RuntimeName, ServerProcess } from "./_helpers.ts";

export const CHROMIUM = "/usr/bin/chromium";

/** A chromium of its own, with command-line switches `args`, closed on dispose. */
export async function launchBrowser(args: string[] = []): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

/** A line of a page's log: who said it and what, as the page shows them. */
export interface Said {
  from: string;
  text: string;
}

/** The Parley page in a browser tab. */
export class WebPage {
  readonly page: Page;
  /** Errors thrown by the page's scripts: a test expects none. */
  readonly errors: string[] = [];

  private constructor(page: Page) {
    this.page = page;
    page.on("pageerror", (error) => this.errors.push(String(error)));
    page.setDefaultTimeout(EVENT_TIMEOUT_MS);
  }

  /** Opens `url` in a new tab and joins as `nick`, once the welcome is shown. */
  static async join(
    browser: Browser,
    url: string,
    nick: string,
    viewport = { width: 1000, height: 640 },
  ): Promise<WebPage> {
    // A context of its own, as another person's browser would be; more tabs may open in it.
    const context = await browser.newContext({ viewport });
    const web = new WebPage(await context.newPage());
    await web.page.goto(url);
    await web.page.fill("#login-nick", nick);
    await web.page.press("#login-nick", "Enter");
    await web.page.locator("#log li.notice", { hasText: `you are ${nick} in ` }).waitFor();
    return web;
  }

  /** Types `line` and presses Enter, as a person does. */
  async say(line: string): Promise<void> {
    await this.page.fill("#line", line);
    await this.page.press("#line", "Enter");
  }

  /** The chat lines in the conversation on screen, in the order shown. */
  said(): Promise<Said[]> {
    return this.page.$$eval("#log li.said", (items) =>
      items.map((item) => ({
        from: item.querySelector(".from")!.textContent!,
        text: item.querySelector(".text")!.textContent!,
      })));
  }

  /** The notices in the conversation on screen. */
  notices(): Promise<string[]> {
    return this.page.$$eval("#log li.notice", (items) => items.map((item) => item.textContent!));
  }

  /** Waits until the conversation on screen shows `count` chat lines or more, and returns them. */
  async waitForSaid(count: number, ms = EVENT_TIMEOUT_MS): Promise<Said[]> {
    // A locator, not a function evaluated in the page: the page's policy forbids eval.
    await this.page.locator("#log li.said").nth(count - 1).waitFor({ timeout: ms });
    return this.said();
  }
}

/** A server with its web port, and the page's address on it. */
export async function startWebServer(
  runtime: RuntimeName,
  args: string[] = [],
  httpPort = 0,
): Promise<{ server: ServerProcess; url: string; httpPort: number }> {
  const server = await ServerProcess.start(runtime, [
    "--host",
    "127.0.0.1",
    "--quiet",
    "--http-port",
    String(httpPort),
    ...args,
  ]);
  const line = await server.stdout.waitFor(/^web client at /, "the web client's address");
  const url = line.slice("web client at ".length);
  return { server, url, httpPort: Number(new URL(url).port) };
}
