import { test } from "node:test";
import assert from "node:assert/strict";
import { originProblem, webAnswer } from "../../server/web.ts";
import type { HttpRequest, HttpResponse, WebSocketUpgrade } from "../../runtime.ts";

const members: WebSocketUpgrade = { upgrade: () => ({ message() {}, drain() {}, closed() {} }) };
const answer = webAnswer({
  assets: new Map([["/", { type: "text/html; charset=utf-8", body: "<p>page</p>" }]]),
  allowOrigins: ["https://chat.example"],
  members,
  metrics: () => "parley_rooms 0\n",
});

function request(path: string, headers: Record<string, string> = {}, method = "GET"): HttpRequest {
  return { method, path, headers: new Headers(headers), remoteHost: "192.0.2.1", remotePort: 1 };
}

const UPGRADE = { upgrade: "websocket", connection: "Upgrade", host: "chat.local:9080" };

test("originProblem lets same-origin, allowed and Origin-less upgrades through", () => {
  assert.equal(originProblem(null, "chat.local:9080", []), null);
  assert.equal(originProblem("http://chat.local:9080", "chat.local:9080", []), null);
  assert.equal(originProblem("https://CHAT.local:9080", "chat.local:9080", []), null);
  assert.equal(
    originProblem("https://chat.example", "chat.local:9080", ["https://chat.example"]),
    null,
  );
  assert.equal(originProblem("http://anything", "chat.local:9080", ["*"]), null);
});

test("originProblem refuses other sites, other ports and what is not a URL", () => {
  assert.match(originProblem("http://evil.example", "chat.local:9080", [])!, /--allow-origin/);
  assert.ok(originProblem("http://chat.local:9081", "chat.local:9080", []));
  assert.ok(originProblem("http://chat.local:9080", null, []));
  assert.match(originProblem("null", "chat.local:9080", [])!, /not a URL/);
});

test("webAnswer upgrades /ws from the same origin, and refuses another with 403", () => {
  assert.equal(answer(request("/ws", { ...UPGRADE, origin: "http://chat.local:9080" })), members);
  const refused = answer(request("/ws", { ...UPGRADE, origin: "http://evil.example" }));
  assert.equal((refused as HttpResponse).status, 403);
  assert.match(String((refused as HttpResponse).body), /^Forbidden: /);
});

test("webAnswer asks for an upgrade at /ws without one (426)", () => {
  const reply = answer(request("/ws")) as HttpResponse;
  assert.equal(reply.status, 426);
});

test("webAnswer serves the page with its content type and security headers", () => {
  const reply = answer(request("/", { host: "chat.local:9080" })) as HttpResponse;
  assert.equal(reply.status, 200);
  assert.equal(reply.body, "<p>page</p>");
  assert.equal(reply.headers["content-type"], "text/html; charset=utf-8");
  assert.equal(reply.headers["x-content-type-options"], "nosniff");
  assert.equal(reply.headers["cache-control"], "no-cache");
  assert.match(
    reply.headers["content-security-policy"],
    /^default-src 'self'; connect-src 'self' ws:\/\/chat\.local:9080 wss:\/\/chat\.local:9080;/,
  );
});

test("webAnswer leaves a Host that could break the policy out of it", () => {
  const reply = answer(request("/", { host: "x; script-src *" })) as HttpResponse;
  assert.match(reply.headers["content-security-policy"], /connect-src 'self';/);
});

test("webAnswer answers /healthz, /metrics, unknown paths and other methods", () => {
  const health = answer(request("/healthz")) as HttpResponse;
  assert.deepEqual([health.status, health.body], [200, "ok"]);
  const metrics = answer(request("/metrics")) as HttpResponse;
  assert.equal(metrics.body, "parley_rooms 0\n");
  assert.match(metrics.headers["content-type"], /^text\/plain; version=0\.0\.4/);
  assert.equal((answer(request("/app.js")) as HttpResponse).status, 404);
  const post = answer(request("/", {}, "POST")) as HttpResponse;
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, "GET, HEAD");
  assert.equal((answer(request("/", {}, "HEAD")) as HttpResponse).body, "");
});
