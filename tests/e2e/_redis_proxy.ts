// A TCP proxy between a Parley node and its redis-server that can hold back what Redis sends to
// the node's subscriber connection: a node whose channel messages are late (a node short of CPU,
// a slow network) while its commands are answered at once, or pass it on always a while later. It
// also counts the times the node asks for a key, so that a test can wait for a node's periodic
// check instead of sleeping. And it can hold back Redis's answers to a node's command connection
// from a given command on, until something reaches the node's subscriber: a node that hears a
// room's event, or another node's question, before the answer to its own publish.
import net from "node:net";
import { within } from "./_helpers.ts";

/** What holdAnswers holds, and till when. */
interface AnswerHold {
  from: RegExp;
  until: RegExp;
  graceMs: number;
  maxMs: number;
  pair: Pair | null;
  releasing: boolean;
  bound?: ReturnType<typeof setTimeout>;
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
  subscriber: boolean;
  held: Buffer[];
}

export class RedisProxy {
  #pairs = new Set<Pair>();
  #holding = false;
  #asked = new Map<string, { count: number; waiters: Array<() => void> }>();
  #answers: AnswerHold | null = null;

  private constructor(
    readonly listener: net.Server,
    readonly port: number,
    readonly subscriberDelayMs: number,
  ) {}

  /** A proxy to the redis-server on `redisPort`; what it sends subscribers `subscriberDelayMs` late. */
  static async start(redisPort: number, subscriberDelayMs = 0): Promise<RedisProxy> {
    let proxy: RedisProxy | null = null;
    const listener = net.createServer((client) => proxy!.#connect(client, redisPort));
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const { port } = listener.address() as net.AddressInfo;
    proxy = new RedisProxy(listener, port, subscriberDelayMs);
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  #connect(client: net.Socket, redisPort: number): void {
    const server = net.connect(redisPort, "127.0.0.1");
    const pair: Pair = { client, server, subscriber: false, held: [] };
    this.#pairs.add(pair);
    client.on("data", (bytes: Buffer) => {
      const text = bytes.toString("latin1");
      if (/SUBSCRIBE/i.test(text)) pair.subscriber = true;
      const answers = this.#answers;
      if (answers && !answers.pair && !pair.subscriber && answers.from.test(text)) {
        answers.pair = pair;
        answers.bound = setTimeout(() => this.#releaseAnswers(answers), answers.maxMs);
      }
      for (const [key, asked] of this.#asked) {
        asked.count += text.split(key).length - 1;
        if (asked.count > 0) { for (const wake of asked.waiters.splice(0)) wake(); }
      }
      server.write(bytes);
    });
    server.on("data", (bytes: Buffer) => {
      const answers = this.#answers;
      if (answers?.pair === pair) return void pair.held.push(bytes);
      if (answers?.pair && pair.subscriber && !answers.releasing) {
        // The node has what it was to hear first; its answers follow once it has had the time to
        // act on it (it may wait for them, which is what a test tells apart), in order.
        if (answers.until.test(bytes.toString("latin1"))) {
          answers.releasing = true;
          setTimeout(() => this.#releaseAnswers(answers), answers.graceMs);
        }
      }
      if (pair.subscriber && this.#holding) pair.held.push(bytes);
      else if (pair.subscriber && this.subscriberDelayMs > 0) {
        setTimeout(() => client.destroyed || client.write(bytes), this.subscriberDelayMs);
      } else client.write(bytes);
    });
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on("close", end).on("error", end);
    server.on("close", end).on("error", end);
  }

  /** From now on, what Redis sends to subscriber connections waits here. */
  holdSubscribers(): void {
    this.#holding = true;
  }

  /**
   * Once a command connection sends a command that `from` matches, Redis's answers on it wait
   * until a subscriber connection is sent something that `until` matches, and `graceMs` after; or
   * `maxMs` from the command, whichever comes first.
   */
  holdAnswers(
    from: RegExp,
    until: RegExp,
    { graceMs = 0, maxMs = 5000 }: { graceMs?: number; maxMs?: number },
  ): void {
    this.#answers = {
      from,
      until,
      graceMs,
      maxMs,
      pair: null,
      releasing: false,
    };
  }

  #releaseAnswers(answers: AnswerHold): void {
    if (this.#answers !== answers) return;
    this.#answers = null;
    clearTimeout(answers.bound);
    const { client, held } = answers.pair!;
    for (const bytes of held.splice(0)) if (!client.destroyed) client.write(bytes);
  }

  /** Sends on what was held, in order, and holds nothing more. */
  release(): void {
    this.#holding = false;
    for (const pair of this.#pairs) {
      for (const bytes of pair.held.splice(0)) pair.client.write(bytes);
    }
  }

  /** Resolves once a node has named `key` in `times` more commands from now. */
  async asked(key: string, times: number, what: string): Promise<void> {
    for (let i = 0; i < times; i++) {
      const asked = { count: 0, waiters: [] as Array<() => void> };
      this.#asked.set(key, asked);
      await within(new Promise<void>((resolve) => asked.waiters.push(resolve)), what);
    }
    this.#asked.delete(key);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    clearTimeout(this.#answers?.bound);
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.server.destroy();
    }
    await new Promise((resolve) => this.listener.close(resolve));
  }
}
