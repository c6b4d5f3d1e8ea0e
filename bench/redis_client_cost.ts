// What one message costs a process that publishes it to Redis and hears it back on its own
// subscriber, as a cluster node does for each message of its members (BENCHMARKS.md, "A cluster"):
// through the npm `redis` client that server/cluster/redis_link.ts uses, and through a bare
// node:net socket writing RESP by hand, the least the runtime's sockets allow. Each is measured as
// the process's own CPU time (user and system) per message, at a fixed rate, which is how a
// cluster node meets a quiet room (a command and a channel message each), and all at once, which
// is how it meets a busy one (pipelined). Run it under each runtime:
//
//   deno run -A bench/redis_client_cost.ts      bun bench/redis_client_cost.ts
import net from "node:net";
import process from "node:process";
import { createClient } from "redis";
import { parseCommandLine, UsageError, wholeNumber } from "../cli.ts";
import { respCommand } from "./payload.ts";
import { startRedis } from "./servers.ts";

const USAGE = `Usage: bench/redis_client_cost.ts [--messages N] [--rate R] [--runs K] [--size S]

Starts a redis-server on a free loopback port and measures, under the runtime it runs on, the CPU
time this process spends per message published and heard back on its own subscriber: with the npm
redis client and with a bare socket. At R messages a second (default 1000) and all at once.
  --messages N   messages per measurement (default 3000)
  --rate R       messages a second in the paced measurement (default 1000)
  --runs K       measurements of each kind; the median is reported (default 3)
  --size S       bytes of each message (default 100)`;

const CHANNEL = "cost";
const TIMEOUT_MS = 60_000;

/** Publishes `count` messages and resolves once its subscriber heard them all. */
interface Client {
  name: string;
  publish(message: string): void;
  heard(count: number): Promise<void>;
  close(): Promise<void>;
}

async function npmClient(url: string): Promise<Client> {
  const publisher = createClient({ url });
  const subscriber = createClient({ url });
  await publisher.connect();
  await subscriber.connect();
  let count = 0;
  let waiting: { count: number; resolve: () => void } | null = null;
  await subscriber.subscribe(CHANNEL, () => {
    if (++count === waiting?.count) waiting.resolve();
  });
  return {
    name: "npm redis",
    publish: (message) => void publisher.publish(CHANNEL, message),
    heard: (total) => {
      if (count >= total) return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      waiting = { count: total, resolve };
      return promise;
    },
    close: async () => {
      await Promise.allSettled([publisher.close(), subscriber.close()]);
    },
  };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.setNoDelay(true);
    socket.once("error", reject);
  });
}

// A bare socket: the subscriber counts the channel's message pushes, which cannot be split in a
// way that hides one, since it looks for the push's header in what it has not yet matched.
async function bareSocket(port: number): Promise<Client> {
  const publisher = await connect(port);
  const subscriber = await connect(port);
  publisher.on("data", () => {}); // the replies: counted by nobody, read so that they drain
  const header = `$7\r\nmessage\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n`;
  let count = 0;
  let rest = "";
  let waiting: { count: number; resolve: () => void } | null = null;
  const { promise: subscribed, resolve: onSubscribed } = Promise.withResolvers<void>();
  subscriber.on("data", (chunk: Uint8Array) => {
    const text = rest + Buffer.from(chunk).toString("latin1");
    if (text.includes("subscribe")) onSubscribed();
    let at = text.indexOf(header);
    let end = 0;
    while (at !== -1) {
      count++;
      end = at + header.length;
      at = text.indexOf(header, end);
    }
    rest = text.slice(Math.max(end, text.length - header.length));
    if (waiting && count >= waiting.count) waiting.resolve();
  });
  subscriber.write(respCommand("SUBSCRIBE", CHANNEL));
  await subscribed;
  return {
    name: "bare socket",
    publish: (message) => void publisher.write(respCommand("PUBLISH", CHANNEL, message)),
    heard: (total) => {
      if (count >= total) return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      waiting = { count: total, resolve };
      return promise;
    },
    close: () => {
      publisher.destroy();
      subscriber.destroy();
      return Promise.resolve();
    },
  };
}

// CPU microseconds per message: `count` messages at `rate` a second (a timer turn for each
// millisecond's worth), or all in one turn when `rate` is 0.
async function measure(client: Client, sent: number, count: number, rate: number, size: number) {
  const message = "x".repeat(size);
  const cpu = process.cpuUsage();
  const started = performance.now();
  let published = 0;
  const publishDue = () => {
    const due = rate === 0 ? count : Math.floor((performance.now() - started) * rate / 1000);
    for (; published < Math.min(due, count); published++) client.publish(message);
    if (published < count) setTimeout(publishDue, 1);
  };
  publishDue();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${client.name}: messages not heard`)), TIMEOUT_MS);
  });
  await Promise.race([client.heard(sent + count), timeout]).finally(() => clearTimeout(timer));
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / count;
}

const median = (values: number[]) =>
  values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const { values } = parseCommandLine(process.argv.slice(2), {
    messages: { type: "string", default: "3000" },
    rate: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    size: { type: "string", default: "100" },
    help: { type: "boolean" },
  });
  if (values.help) return console.log(USAGE);
  const count = wholeNumber(values.messages, "--messages", 1, 1_000_000);
  const rate = wholeNumber(values.rate, "--rate", 1, 100_000);
  const runs = wholeNumber(values.runs, "--runs", 1, 100);
  const size = wholeNumber(values.size, "--size", 1, 1_000_000);
  const settings = {
    sendQueueBytes: 0,
    maxClients: 100,
    logFile: null,
    parleyFlags: [],
    tls: null,
  };
  const redis = await startRedis("redis-server", null, settings);
  const runtime = "Deno" in globalThis ? "deno" : "bun" in process.versions ? "bun" : "node";
  try {
    console.log(`${runtime}: CPU µs per message published and heard back, medians of ${runs}`);
    for (
      const make of [
        () => npmClient(`redis://127.0.0.1:${redis.port}`),
        () => bareSocket(redis.port),
      ]
    ) {
      const client = await make();
      let sent = 0;
      const paced: number[] = [];
      const burst: number[] = [];
      for (let run = 0; run < runs; run++) {
        paced.push(await measure(client, sent, count, rate, size));
        sent += count;
        burst.push(await measure(client, sent, count, 0, size));
        sent += count;
      }
      await client.close();
      const at = (value: number) => value.toFixed(1).padStart(7);
      console.log(
        `${client.name.padEnd(12)} at ${rate}/s: ${at(median(paced))}   all at once: ${
          at(median(burst))
        }`,
      );
    }
  } finally {
    await redis.stop();
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error instanceof UsageError ? error.message : String(error));
  process.exit(error instanceof UsageError ? 2 : 1);
});
