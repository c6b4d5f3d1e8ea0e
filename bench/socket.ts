// One connection of the load generator, over Parley's own runtime seam (runtime.ts), so that it
// uses the runtime's native sockets: under Deno each read lands in one reused buffer, with none of
// the per-read buffers and stream events of node:net, which cost the load generator more than
// the deliveries it checks. Writes may be made at any time: they queue, and go out one at a time.
import { type Connection, writeAll } from "../runtime.ts";
import { runtime } from "../runtime/current.ts";
import { concatBytes } from "../protocol/native.ts";

export interface SocketEvents {
  /** Bytes from the server; valid only during the call (the read buffer is reused). */
  data(chunk: Uint8Array): void;
  /** The connection is open. */
  connect?(): void;
  /** The connection failed, or the server closed it; called once, unless we closed it first. */
  close(why: string): void;
}

export class BenchSocket {
  #conn: Connection | null = null;
  #queue: Uint8Array[] = [];
  #writing = false;
  #destroyed = false;
  #events: SocketEvents;
  #done: Promise<void>;

  /** With `ca`, over TLS, trusting the authority (PEM) in it. */
  constructor(host: string, port: number, ca: string | undefined, events: SocketEvents) {
    this.#events = events;
    this.#done = this.#run(host, port, ca);
  }

  write(bytes: Uint8Array): void {
    if (this.#destroyed) return;
    this.#queue.push(bytes);
    if (this.#conn && !this.#writing) this.#flush();
  }

  /** Closes the connection; resolves once its read loop has ended. */
  destroy(): Promise<void> {
    this.#destroyed = true;
    this.#conn?.close();
    return this.#done;
  }

  async #run(host: string, port: number, ca: string | undefined): Promise<void> {
    try {
      this.#conn =
        await (ca === undefined ? runtime.connect(host, port) : runtime.connectTls(host, port, ca));
    } catch (error) {
      if (!this.#destroyed) this.#events.close((error as Error).message);
      return;
    }
    if (this.#destroyed) return this.#conn.close();
    this.#events.connect?.();
    if (this.#queue.length > 0) this.#flush();
    while (true) {
      const chunk = await this.#conn.read();
      if (chunk === null) break;
      this.#events.data(chunk);
    }
    if (!this.#destroyed) this.#events.close("closed by the server");
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#destroyed) {
        const bytes = concatBytes(this.#queue.splice(0));
        await writeAll(this.#conn!, bytes);
      }
    } catch (error) {
      if (!this.#destroyed) this.#events.close(`write failed: ${(error as Error).message}`);
      this.#destroyed = true;
      this.#conn!.close();
    } finally {
      this.#writing = false;
    }
  }
}
