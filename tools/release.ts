// Builds the release: parley.ts compiled by `bun build --compile` for every platform Bun can build
// for, into dist/ (or --out DIR) as parley-VERSION-TARGET (.exe on Windows), with SHA256SUMS beside
// them for `sha256sum -c`. Each binary carries the commit it was built from for --version.
//
//   bun tools/release.ts            (npm run release)  every target
//   bun tools/release.ts --host     (npm run build)    this machine's only, as dist/parley
//
// Run it with Bun: it builds with the Bun that runs it. Bun fetches each other platform's runtime
// from the npm registry on first use (about 50 MB each) and keeps it in its install cache
// (~/.bun/install/cache), so later builds work offline and take a few seconds per target.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// Bun's names, after "bun-". Bun also builds Windows on arm64 and x64 "baseline" (pre-AVX2) builds;
// they are left out until someone asks for them.
export const TARGETS = [
  "linux-x64",
  "linux-arm64",
  "linux-x64-musl",
  "linux-arm64-musl",
  "darwin-x64",
  "darwin-arm64",
  "windows-x64",
];
const BUILD_TIMEOUT_MS = 10 * 60_000;
const GIT_TIMEOUT_MS = 10_000;

function git(args: string[]): string {
  return execFileSync("git", args, {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    timeout: GIT_TIMEOUT_MS,
  })
    .trim();
}

/** The commit checked out, marked "-dirty" when tracked files differ from it; "unknown" without git. */
function commit(): string {
  try {
    const changed = git(["status", "--porcelain", "--untracked-files=no"]) !== "";
    return git(["rev-parse", "--short", "HEAD"]) + (changed ? "-dirty" : "");
  } catch {
    return "unknown";
  }
}

function build(commit: string, outfile: string, target?: string): void {
  const args = [
    "build",
    "--compile",
    ...(target ? [`--target=bun-${target}`] : []),
    "--define",
    `PARLEY_COMMIT=${JSON.stringify(commit)}`,
    path.join(ROOT, "parley.ts"),
    "--outfile",
    outfile,
  ];
  const bun = spawnSync(process.execPath, args, { encoding: "utf8", timeout: BUILD_TIMEOUT_MS });
  if (bun.status !== 0) {
    process.stderr.write(`${bun.stdout}${bun.stderr}`);
    const why = bun.error ? bun.error.message : `status ${bun.status ?? bun.signal}`;
    process.stderr.write(`release: bun build for ${target ?? "this machine"} failed (${why})\n`);
    process.exit(1);
  }
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const megabytes = (file: string) => (statSync(file).size / 1e6).toFixed(1);

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "dist" },
      host: { type: "boolean", default: false },
    },
  });
  const out = path.resolve(values.out);
  const { version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const built = commit();
  mkdirSync(out, { recursive: true });
  if (values.host) {
    const outfile = path.join(out, process.platform === "win32" ? "parley.exe" : "parley");
    build(built, outfile);
    console.log(`${path.join(values.out, path.basename(outfile))}  ${megabytes(outfile)} MB`);
    return;
  }
  // A release is exactly the files of one build: an earlier one's binaries would be listed nowhere.
  for (const old of readdirSync(out).filter((name) => name.startsWith("parley-"))) {
    rmSync(path.join(out, old));
  }
  const sums: string[] = [];
  for (const target of TARGETS) {
    const name = `parley-${version}-${target}${target.startsWith("windows") ? ".exe" : ""}`;
    const outfile = path.join(out, name);
    build(built, outfile, target);
    sums.push(`${sha256(outfile)}  ${name}\n`);
    console.log(`${name}  ${megabytes(outfile)} MB`);
  }
  writeFileSync(path.join(out, "SHA256SUMS"), sums.join(""));
  console.log(
    `parley ${version} (commit ${built}): ${TARGETS.length} binaries and SHA256SUMS in ${out}`,
  );
}

main();
