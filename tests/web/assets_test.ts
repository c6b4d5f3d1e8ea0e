import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ASSETS_FILE, webAssetsModule } from "../../tools/make_web_assets.ts";
import { assets } from "../../web/assets.ts";

test("web/assets.ts is what tools/make_web_assets.ts makes of the page's sources now", () => {
  assert.ok(
    readFileSync(ASSETS_FILE, "utf8") === webAssetsModule(),
    "web/assets.ts is stale: run `npm run build:web` and commit it",
  );
});

test("web/assets.ts serves the page, its style and its script, each with its type", () => {
  assert.deepEqual([...assets.keys()], ["/", "/style.css", "/app.js"]);
  assert.match(assets.get("/")!.body, /<script type="module" src="\/app.js">/);
  assert.equal(assets.get("/app.js")!.type, "text/javascript; charset=utf-8");
});
