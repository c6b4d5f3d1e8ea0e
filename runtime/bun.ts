// Bun behind the runtime seam: Bun.listen and Bun.connect (TLS is node:tls, in tls.ts). Bun pushes
// events into shared handlers; this file turns them into the pull-style Connection that the rest
// of Parley reads with await.
import type { Socket, SocketHandler, TCPSocketListener } from "bun";
import type { Connection, Listener, Runtime, WriteDone } from "../runtime.ts";
import { tlsEdge } from "./tls.ts";

// Past this many unread bytes the socket is paused, so that a peer cannot fill our memory faster
// than Parley consumes its input.
const PAUSE_AT_UNREAD_BYTES = 256 * 1024;

type BunSocket = Socket<BunConnection | undefined>;

class BunConnection implements Connection {
  readonly remoteHost: string;
  readonly remotePort: number;
  #socket: BunSocket;
  #unread: Uint8Array[] = [];
  #unreadBytes = 0;
  #paused = false;
  #readEnded = false; // the peer sent end-of-stream; we may still write (half-open)
  #closed = false;
  #reader: ((chunk: Uint8Array | null) => void) | null = null;
  #pendingWrite: { rest: Uint8Array; done: WriteDone } | null = null;

  constructor(socket: BunSocket) {
    this.#socket = socket;
    this.remoteHost = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    // Latency matters more than segment count: Parley coalesces its own writes.
    socket.setNoDelay(true);
    // Finds peers that vanished without a word (line members are never pinged).
    socket.setKeepAlive(true);
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#unread.shift();
    if (chunk) {
      this.#unreadBytes -= chunk.length;
      if (this.#paused && this.#unreadBytes < PAUSE_AT_UNREAD_BYTES / 2) {
        this.#paused = false;
        this.#socket.resume();
      }
      return Promise.resolve(chunk);
    }
    if (this.#readEnded) return Promise.resolve(null);
    return new Promise((resolve) => this.#reader = resolve);
  }

  write(bytes: Uint8Array, done: WriteDone): void {
    if (this.#closed) return done(new Error("connection closed"));
    const written = this.#socket.write(bytes);
    if (written === bytes.length) return done();
    if (written < 0) return done(new Error("connection closed"));
    this.#pendingWrite = { rest: bytes.subarray(written), done };
  }

  closeWrite(): Promise<void> {
    if (!this.#closed) this.#socket.shutdown();
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#socket.end();
    this.onClosed();
  }

  onData(chunk: Uint8Array): void {
    if (this.#reader) {
      const reader = this.#reader;
      this.#reader = null;
      reader(chunk);
      return;
    }
    this.#unread.push(chunk);
    this.#unreadBytes += chunk.length;
    if (!this.#paused && this.#unreadBytes >= PAUSE_AT_UNREAD_BYTES) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  onDrain(): void {
    const pending = this.#pendingWrite;
    if (!pending) return;
    const written = this.#socket.write(pending.rest);
    if (written < 0) {
      this.#pendingWrite = null;
      pending.done(new Error("connection closed"));
    } else if (written === pending.rest.length) {
      this.#pendingWrite = null;
      pending.done();
    } else {
      pending.rest = pending.rest.subarray(written);
    }
  }

  onPeerEnd(): void {
    this.#readEnded = true;
    this.#reader?.(null);
    this.#reader = null;
  }

  onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onPeerEnd();
    const pending = this.#pendingWrite;
    this.#pendingWrite = null;
    pending?.done(new Error("connection closed"));
  }
}

// Bun allocates one set of handlers for all sockets; each socket's `data` is its BunConnection.
function handlers(onOpen: (conn: BunConnection) => void): SocketHandler<BunConnection | undefined> {
  return {
    open(socket) {
      // Reset by the peer before it was accepted: it has no address, and nothing to serve.
      if (socket.remoteAddress === undefined) return void socket.terminate();
      const conn = new BunConnection(socket);
      socket.data = conn;
      onOpen(conn);
    },
    data: (socket, chunk) => socket.data?.onData(chunk),
    drain: (socket) => socket.data?.onDrain(),
    end: (socket) => socket.data?.onPeerEnd(),
    close: (socket) => socket.data?.onClosed(),
    error: (socket) => socket.data?.onClosed(),
  };
}

class BunListener implements Listener {
  readonly hostname: string;
  readonly port: number;
  #server: TCPSocketListener<BunConnection | undefined>;
  #accepted: BunConnection[] = [];
  #waiter: ((conn: BunConnection | null) => void) | null = null;
  #closed = false;

  constructor(hostname: string, port: number) {
    this.#server = Bun.listen<BunConnection | undefined>({
      hostname,
      port,
      allowHalfOpen: true,
      socket: handlers((conn) => this.#onOpen(conn)),
    });
    this.hostname = this.#server.hostname;
    this.port = this.#server.port;
  }

  #onOpen(conn: BunConnection): void {
    if (this.#closed) return conn.close();
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter(conn);
    } else {
      this.#accepted.push(conn);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    while (true) {
      const conn = this.#accepted.shift() ??
        (this.#closed ? null : await new Promise<BunConnection | null>((r) => this.#waiter = r));
      if (!conn) return;
      yield conn;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.stop(false); // false: leave the accepted connections open
    this.#waiter?.(null);
    this.#waiter = null;
  }
}

export const bunRuntime: Runtime = {
  name: "bun",
  ...tlsEdge({ pauseHoldsBack: true }),
  listen: (hostname, port) => new BunListener(hostname, port),
  connect(hostname, port) {
    return new Promise((resolve, reject) => {
      Bun.connect<BunConnection | undefined>({
        hostname,
        port,
        allowHalfOpen: true,
        socket: { ...handlers(resolve), connectError: (_socket, error) => reject(error) },
      }).catch(reject);
    });
  },
};
