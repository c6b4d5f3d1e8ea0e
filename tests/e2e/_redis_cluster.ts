// A real Redis Cluster for the tests: three redis-server masters on free ports of 127.0.0.1, each
// in a directory of its own, joined with `redis-cli --cluster create` (the hash slots split three
// ways, no replicas), saving nothing; stopped, and their directories removed, on dispose.
import { execFileSync } from "node:child_process";
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

const CLUSTER_OK_MS = 15_000;

export class RedisCluster {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), "parley-redis-cluster-"));
  #processes: Subprocess[] = [];

  private constructor(readonly ports: number[]) {}

  static async start(masters = 3): Promise<RedisCluster> {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) ports.push(await freePort());
    const cluster = new RedisCluster(ports);
    try {
      await cluster.#start();
    } catch (error) {
      await cluster[Symbol.asyncDispose]();
      throw error;
    }
    return cluster;
  }

  /** One node's URL: a client finds the others from it. */
  get url(): string {
    return `redis://127.0.0.1:${this.ports[0]}`;
  }

  /** What `redis-cli` prints for `args`, sent to the node on `port`. */
  cli(port: number, ...args: string[]): string {
    return execFileSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" });
  }

  async #start(): Promise<void> {
    for (const port of this.ports) {
      const dir = path.join(this.dir, String(port));
      execFileSync("mkdir", ["-p", dir]);
      const process = new Subprocess([
        "redis-server",
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--dir",
        dir,
      ]);
      this.#processes.push(process);
      await process.stdout.waitFor(/Ready to accept connections/, "redis-server to start");
    }
    execFileSync("redis-cli", [
      "--cluster",
      "create",
      ...this.ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ], { stdio: "ignore" });
    // Each node says so once it has heard that every slot is served: asked until then.
    await within(
      (async () => {
        while (
          !this.ports.every((port) => /cluster_state:ok/.test(this.cli(port, "CLUSTER", "INFO")))
        ) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })(),
      "the Redis Cluster to be ok",
      CLUSTER_OK_MS,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const process of this.#processes.splice(0)) await process[Symbol.asyncDispose]();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
