// Starting a server as a node of a cluster: what server.ts needs for `--redis URL`.
import { StartupError, UsageError } from "../../cli.ts";
import { systemProblem } from "../../runtime.ts";
import type { ClusterNode } from "./node.ts";
import { orLate } from "./node_questions.ts";
import { Moderation } from "../moderation.ts";
import type { ModerationSite } from "../moderation_site.ts";

/** Exit status when Redis cannot be reached at start (documented in server.ts's usage). */
export const EXIT_REDIS_UNREACHABLE = 5;

/** How long a node waits for Redis at start before giving up. */
const CONNECT_TIMEOUT_MS = 5000;

/** A node connected to Redis at `url`, or a StartupError saying why not. */
export async function startNode(
  url: string,
  options: { historyLimit: number; leaseMs: number; sharded: boolean; graceMs: number },
): Promise<ClusterNode> {
  if (!/^rediss?:\/\//.test(url)) {
    throw new UsageError(`--redis must be a URL such as redis://127.0.0.1:6379, not "${url}"`);
  }
  // Problems with the link after start are logged even with --quiet: delivery is at stake.
  const log = (line: string) => console.error(line);
  // Loaded only for --redis: a single server needs nothing installed, not even the Redis client.
  const { ClusterNode } = await import("./node.ts").catch(() => {
    throw new StartupError("--redis needs the npm package redis: run npm install first");
  });
  const node = new ClusterNode({ url, ...options, log });
  try {
    if (await orLate(node.start(), CONNECT_TIMEOUT_MS) === "late") throw new Error("no answer");
  } catch (error) {
    await node.close().catch(() => {});
    throw new StartupError(
      `cannot reach Redis at ${url}: ${systemProblem(socketError(error))}`,
      EXIT_REDIS_UNREACHABLE,
    );
  }
  return node;
}

// node-redis wraps the socket's error (which has the system's code) when it gives up.
function socketError(error: unknown): unknown {
  return (error as { socketError?: unknown } | null)?.socketError ?? error;
}

/**
 * The moderation of a node: kept in Redis and followed from there (moderation_store.ts), acting
 * through the node (moderation_site.ts); `operators` are this node's --operator accounts.
 */
export async function moderateNode(
  node: ClusterNode,
  operators: readonly string[],
): Promise<{ moderation: Moderation; site: ModerationSite }> {
  const { RedisModerationStore } = await import("./moderation_store.ts");
  const { ClusterModerationSite } = await import("./moderation_site.ts");
  const store = new RedisModerationStore(node.link, node.options.log);
  try {
    const moderation = await Moderation.open(store, operators);
    const site = new ClusterModerationSite(node, moderation, store);
    await site.start();
    await store.follow(moderation, (change) => site.changed(change));
    return { moderation, site };
  } catch (error) {
    await node.close().catch(() => {});
    throw new StartupError(
      `cannot read moderation from Redis at ${node.options.url}: ${error}`,
      EXIT_REDIS_UNREACHABLE,
    );
  }
}
