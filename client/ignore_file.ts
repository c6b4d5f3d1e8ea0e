// The nicks the user ignores, in a small file, so that /ignore outlasts the client as it outlasts
// a reconnect: one nick a line, in $XDG_CONFIG_HOME/parley/ignored (by default
// ~/.config/parley/ignored) or --ignore-file. It is written whenever the server sends the list (it
// answers /ignore and /unignore, and moves an ignore to the nick an ignored member changes to),
// whole, through a file beside it renamed over it, so that it is never half written.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { systemProblem } from "../runtime.ts";
import type { IgnoreStore } from "./hello.ts";

/** Where the ignore file is unless --ignore-file says: under the user's configuration directory. */
export function defaultIgnoreFile(env: Record<string, string | undefined>, home: string): string {
  const config = env.XDG_CONFIG_HOME || path.join(home, ".config");
  return path.join(config, "parley", "ignored");
}

export class IgnoreFile implements IgnoreStore {
  #nicks: string[] | null = null; // read once; then what was last saved, even if saving failed

  constructor(readonly path: string) {}

  nicks(): string[] {
    this.#nicks ??= this.#read();
    return this.#nicks;
  }

  // A missing or unreadable file ignores nobody: the first save says what is wrong with it.
  #read(): string[] {
    try {
      return readFileSync(this.path, "utf8").split("\n").map((line) => line.trim())
        .filter((line) => line !== "");
    } catch {
      return [];
    }
  }

  save(nicks: string[]): string | null {
    this.#nicks = [...nicks];
    const fresh = `${this.path}.new`;
    try {
      mkdirSync(path.dirname(this.path), { recursive: true });
      writeFileSync(fresh, nicks.map((nick) => `${nick}\n`).join(""));
      renameSync(fresh, this.path);
      return null;
    } catch (error) {
      return `cannot keep the ignore list in ${this.path}: ${systemProblem(error)}`;
    }
  }
}
