// The one place that tells which runtime Parley runs on. Only entry points import it; the code behind
// them is handed listeners or a connect function.
import type { Runtime } from "../runtime.ts";

// Literal import paths, so that `bun build --compile` and `deno compile` bundle both edges.
export const runtime: Runtime = "Bun" in globalThis
  ? (await import("./bun.ts")).bunRuntime
  : (await import("./deno.ts")).denoRuntime;
