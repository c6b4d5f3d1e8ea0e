// A real Redis Cluster for the tests: three redis-server masters on free ports of 127.0.0.1, each
// in a directory of its own, joined with `redis-cli --cluster create` (the hash slots split three
// ways, no replicas), each with an append-only file written on every change, as an operator keeping
// history would run it; stopped, and their directories removed, on dispose. A master can be killed
// and started again, to see what a shard's crash does.
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

  /** Kills the master on `port` at once, as a crash would. */
  async kill(port: number): Promise<void> {
    const index = this.ports.indexOf(port);
    await this.#processes[index][Symbol.asyncDispose]();
  }

  /** Starts the master on `port` again, from its directory: it knows its slots from nodes.conf. */
  async restart(port: number): Promise<void> {
    this.#processes[this.ports.indexOf(port)] = await this.#master(port);
    await this.#allOk();
  }

  async #start(): Promise<void> {
    for (const port of this.ports) this.#processes.push(await this.#master(port));
    execFileSync("redis-cli", [
      "--cluster",
      "create",
      ...this.ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ], { stdio: "ignore" });
    await this.#allOk();
  }

  async #master(port: number): Promise<Subprocess> {
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
      "yes",
      "--appendfsync",
      "always",
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--dir",
      dir,
    ]);
    await process.stdout.waitFor(/Ready to accept connections/, "redis-server to start");
    return process;
  }

  async #allOk(): Promise<void> {
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
