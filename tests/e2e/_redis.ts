// A real redis-server for the cluster tests: on a free port of 127.0.0.1, in a directory of its
// own, saving nothing unless asked for an append-only file; stopped (and its directory removed) on
// dispose. It can be stopped and started again on the same port and directory, as an operator's
// restart would.
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Subprocess, within } from "./_helpers.ts";

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class RedisServer {
  #process: Subprocess | null = null;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), "parley-redis-"));

  private constructor(readonly port: number, readonly appendOnly: boolean) {}

  static async start(appendOnly = false): Promise<RedisServer> {
    const redis = new RedisServer(await freePort(), appendOnly);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again), resolving once it accepts connections. */
  async restart(): Promise<void> {
    const argv = [
      "redis-server",
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      this.appendOnly ? "yes" : "no",
      "--appendfsync",
      "always",
      "--dir",
      this.dir,
    ];
    this.#process = new Subprocess(argv);
    await this.#process.stdout.waitFor(/Ready to accept connections/, "redis-server to start");
  }

  /** Stops it as an operator would (SIGTERM), resolving once it has exited. */
  async stop(): Promise<void> {
    const process = this.#process;
    if (!process) return;
    this.#process = null;
    process.child.kill("SIGTERM");
    await within(process.exited, "redis-server to stop");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const process = this.#process;
    this.#process = null;
    if (process) await process[Symbol.asyncDispose]();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
