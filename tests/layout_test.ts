// The layout's rules, read from the import statements, so that they are checked rather than claimed
// in comments. Each top-level door (server.ts, client.ts, protocol.ts, runtime.ts) has the folder
// of the same name behind it; README.md's "How it is built" says why each rule is there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DOORS = ["server", "client", "protocol", "runtime"];
// parley.ts is the one program of the release binaries: `parley server` and `parley client`.
const TOP_LEVEL_TS = ["cli.ts", "parley.ts", ...DOORS.map((door) => `${door}.ts`)];
const MAX_PRODUCT_LINES = 440;
// Modules that touch the disk, the network or processes. The I/O-free core imports none of them.
const IO_MODULES = /^node:(fs|fs\/promises|sqlite|net|tls|http|https|child_process|process|os)$/;

/** Every .ts file below `dir` (relative to the root), tests aside. */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((entry) => {
    const relative = path.join(dir, entry);
    if (statSync(path.join(ROOT, relative)).isDirectory()) return sources(relative);
    return entry.endsWith(".ts") && !entry.endsWith("_test.ts") ? [relative] : [];
  });
}

const PRODUCT = [...TOP_LEVEL_TS, ...DOORS.flatMap(sources)];

/** What a module's source says it imports: static, re-exported and dynamic, as written. */
function importsIn(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

/** `file`'s imports, relative ones resolved to paths from the root ("server/chat.ts"). */
function importsOf(file: string): string[] {
  return importsIn(readFileSync(path.join(ROOT, file), "utf8")).map((specifier) =>
    specifier.startsWith(".")
      ? path.relative(ROOT, path.resolve(ROOT, path.dirname(file), specifier))
      : specifier
  );
}

/** The source without its comments, for rules about what the code names. */
function code(file: string): string {
  return readFileSync(path.join(ROOT, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "")
    .replace(/\s\/\/ .*$/gm, "");
}

const inFolder = (file: string, folder: string) => file.startsWith(`${folder}/`);
const isProtocol = (file: string) => file === "protocol.ts" || inFolder(file, "protocol");

function violations(check: (file: string, imported: string) => string | null): string[] {
  return PRODUCT.flatMap((file) =>
    importsOf(file).flatMap((imported) => {
      const problem = check(file, imported);
      return problem ? [`${file} imports ${imported}: ${problem}`] : [];
    })
  );
}

test("layout: the import reader finds static, type, multi-line and dynamic imports", () => {
  const source = `import a from "./a.ts";
import type { B } from "../b.ts";
import {
  c,
  d,
} from "node:fs";
export { e } from "./e.ts";
import "./side_effect.ts";
const f = await import("./f.ts");
// import g from "./not_code.ts" is prose in a comment only when it does not start a line`;
  assert.deepEqual(importsIn(source).sort(), [
    "../b.ts",
    "./a.ts",
    "./e.ts",
    "./f.ts",
    "./side_effect.ts",
    "node:fs",
  ]);
  // And on the real tree: a rule that reads no imports would pass for the wrong reason.
  assert.ok(importsOf("server/chat_server.ts").includes("runtime.ts"));
  assert.ok(importsOf("server.ts").includes("runtime/current.ts"));
});

test("layout: the top level holds only the doors, cli.ts and parley.ts, each door with its folder", () => {
  const topLevel = readdirSync(ROOT).filter((entry) => entry.endsWith(".ts")).sort();
  assert.deepEqual(topLevel, [...TOP_LEVEL_TS].sort());
  for (const door of DOORS) assert.ok(statSync(path.join(ROOT, door)).isDirectory(), door);
});

test("layout: protocol code imports only protocol code, node:buffer in the native codec aside", () => {
  assert.deepEqual(
    violations((file, imported) => {
      if (!isProtocol(file) || isProtocol(imported)) return null;
      if (imported === "node:buffer" && file === "protocol/native.ts") return null;
      return "protocol code imports only protocol code";
    }),
    [],
  );
});

test("layout: runtime.ts imports nothing, and runtime/ only runtime.ts and the platform", () => {
  assert.deepEqual(importsOf("runtime.ts"), []);
  assert.deepEqual(
    violations((file, imported) => {
      if (!inFolder(file, "runtime")) return null;
      if (imported === "runtime.ts" || inFolder(imported, "runtime")) return null;
      if (imported.startsWith("node:") || imported === "bun") return null;
      return "a runtime adapter imports only the seam's shapes";
    }),
    [],
  );
});

test("layout: only runtime/ names Deno or Bun", () => {
  const naming = PRODUCT.filter((file) => !inFolder(file, "runtime"))
    .filter((file) => /\b(Deno|Bun)\b/.test(code(file)));
  assert.deepEqual(naming, []);
});

test("layout: only entry points choose the runtime", () => {
  const entryPoints = new Set(["server.ts", "client.ts"]);
  assert.deepEqual(
    violations((file, imported) =>
      imported === "runtime/current.ts" && !entryPoints.has(file)
        ? "server and client code are handed listeners or a connect function"
        : null
    ),
    [],
  );
  assert.deepEqual(
    violations((file, imported) =>
      (inFolder(file, "server") || inFolder(file, "client")) && inFolder(imported, "runtime")
        ? "server and client code see the runtime through runtime.ts's shapes only"
        : null
    ),
    [],
  );
});

test("layout: server and client code never import each other", () => {
  assert.deepEqual(
    violations((file, imported) => {
      const side = (name: string) =>
        inFolder(name, "server") || name === "server.ts"
          ? "server"
          : inFolder(name, "client") || name === "client.ts"
          ? "client"
          : null;
      const [from, to] = [side(file), side(imported)];
      return from && to && from !== to ? `${from} code never imports ${to} code` : null;
    }),
    [],
  );
});

test("layout: the server's core does no I/O; storage lives in its own folders", () => {
  const core = [
    "server/chat.ts",
    "server/room.ts",
    "server/history.ts",
    "server/flood_gate.ts",
    "server/liveness.ts",
  ];
  for (const file of core) assert.ok(PRODUCT.includes(file), `${file} exists`);
  assert.deepEqual(
    violations((file, imported) => {
      if (!isProtocol(file) && !core.includes(file)) return null;
      return IO_MODULES.test(imported) ? "the core does no I/O" : null;
    }),
    [],
  );
  assert.deepEqual(
    violations((file, imported) => {
      if (!inFolder(file, "server") || inFolder(file, "server/sqlite")) return null;
      if (imported === "node:sqlite" || inFolder(imported, "server/sqlite")) {
        return "the server is handed its message store by the entry point";
      }
      return null;
    }),
    [],
  );
});

test("layout: no product file is longer than its limit", () => {
  const long = PRODUCT.map((file) => ({
    file,
    lines: readFileSync(path.join(ROOT, file), "utf8").split("\n").length,
  })).filter(({ lines }) => lines > MAX_PRODUCT_LINES);
  assert.deepEqual(long, []);
});

test("layout: the browser page imports only protocol code, the client's I/O-free parts and web/", () => {
  // Browser code: nothing that needs a runtime (node: modules, Deno, Bun), no server code.
  const clientParts = ["client/rooms.ts", "client/completion.ts", "client/format.ts"];
  const page = sources("web").filter((file) => file !== "web/assets.ts");
  assert.ok(page.includes("web/page_state.ts"));
  const problems = page.flatMap((file) =>
    importsOf(file).filter((imported) =>
      !isProtocol(imported) && !inFolder(imported, "web") && !clientParts.includes(imported)
    ).map((imported) => `${file} imports ${imported}`)
  );
  assert.deepEqual(problems, []);
  // What the page takes from the client imports nothing else at run time.
  for (const part of clientParts) {
    const runtimeImports = importsIn(
      readFileSync(path.join(ROOT, part), "utf8").replace(
        /^import type .*$/gm,
        "",
      ),
    );
    for (const imported of runtimeImports) {
      assert.ok(
        imported.startsWith("../protocol"),
        `${part}: ${imported}`,
      );
    }
  }
  const naming = page.filter((file) => /\b(Deno|Bun)\b/.test(code(file)));
  assert.deepEqual(naming, []);
  const long = page.filter((file) =>
    readFileSync(path.join(ROOT, file), "utf8").split("\n").length > MAX_PRODUCT_LINES
  );
  assert.deepEqual(long, []);
});
