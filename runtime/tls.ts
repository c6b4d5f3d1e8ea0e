// TLS behind the runtime seam, on node:tls: the one TLS code path that works the same on Deno and
// on Bun (Deno's own TLS client, for one, refuses a self-signed certificate marked as a CA). Both
// runtime adapters hand these functions out, telling them the one way their node:tls differs.
// node:tls pushes events; this file turns them into the pull-style Connection that the rest of
// Parley reads with await.
import { once } from "node:events";
import type net from "node:net";
import tls from "node:tls";
import {
  Arrivals,
  type Connection,
  type Runtime,
  type TlsCredentials,
  type TlsListener,
  type WriteDone,
} from "../runtime.ts";

// Past this many unread bytes the socket is paused, so that a peer cannot fill our memory faster
// than Parley consumes its input; TCP then holds the peer back, as on a plain connection.
const PAUSE_AT_UNREAD_BYTES = 256 * 1024;
// Where pausing holds nobody back (Deno), the peer is closed once this much of its input waits.
// A member that far behind is past flood control's disconnect already (30 s at 10 messages and
// 40 KiB a second), but does not get to read its `flood` error.
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;
// A read hands over what has arrived, up to this much, as a read of a TCP socket does: TLS brings
// it in records of 16 KiB at most, and flood control must see a flood as large as it is.
const MAX_READ_BYTES = 256 * 1024;

/** How a runtime's node:tls behaves where the runtimes differ. */
export interface TlsQuirks {
  /**
   * Whether pausing a TLS socket stops reading from the peer. On Bun it does. On Deno it stops
   * only the socket's events: the runtime goes on reading and decrypting into memory it holds
   * (hundreds of MB a second from a peer that floods), so Deno never pauses, counts, and closes.
   */
  readonly pauseHoldsBack: boolean;
}

class TlsConnection implements Connection {
  readonly remoteHost: string;
  readonly remotePort: number;
  #socket: tls.TLSSocket;
  #unread: Uint8Array[] = [];
  #unreadBytes = 0;
  #paused = false;
  #readEnded = false; // the peer sent end-of-stream; we may still write (half-open)
  #closed = false;
  #reader: ((chunk: Uint8Array | null) => void) | null = null;
  #done: WriteDone | null = null;
  #quirks: TlsQuirks;

  constructor(socket: tls.TLSSocket, quirks: TlsQuirks) {
    this.#socket = socket;
    this.#quirks = quirks;
    this.remoteHost = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    // Latency matters more than segment count: Parley coalesces its own writes.
    socket.setNoDelay(true);
    // Finds peers that vanished without a word (line members are never pinged).
    socket.setKeepAlive(true);
    socket.on("data", this.#onData);
    socket.on("end", this.#onPeerEnd);
    socket.on("close", this.#onClosed);
    socket.on("error", () => {}); // "close" follows, and the reader sees the end
  }

  read(): Promise<Uint8Array | null> {
    if (this.#unread.length > 0) {
      const chunk = this.#takeUnread();
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

  // The first unread chunk, joined with those after it up to MAX_READ_BYTES.
  #takeUnread(): Uint8Array {
    let count = 1;
    let length = this.#unread[0].length;
    while (count < this.#unread.length && length + this.#unread[count].length <= MAX_READ_BYTES) {
      length += this.#unread[count++].length;
    }
    const chunks = this.#unread.splice(0, count);
    if (count === 1) return chunks[0];
    const joined = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    return joined;
  }

  // node:tls takes every byte at once and calls back once they are encrypted and handed to the
  // system: until then the caller's bytes (which it may reuse afterwards) are still ours.
  write(bytes: Uint8Array, done: WriteDone): void {
    if (this.#closed || this.#socket.destroyed) return done(new Error("connection closed"));
    this.#done = done;
    this.#socket.write(bytes, this.#written);
  }

  #written = (error?: Error | null): void => {
    const done = this.#done;
    this.#done = null;
    done?.(error ?? undefined);
  };

  closeWrite(): Promise<void> {
    if (!this.#closed) this.#socket.end();
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#unread = []; // nobody reads after a close: let a flood's bytes go
    this.#unreadBytes = 0;
    this.#socket.destroy();
    this.#onClosed();
  }

  #onData = (chunk: Uint8Array): void => {
    if (this.#reader) {
      const reader = this.#reader;
      this.#reader = null;
      reader(chunk);
      return;
    }
    this.#unread.push(chunk);
    this.#unreadBytes += chunk.length;
    if (!this.#quirks.pauseHoldsBack) {
      if (this.#unreadBytes > MAX_UNREAD_BYTES) this.close();
    } else if (!this.#paused && this.#unreadBytes >= PAUSE_AT_UNREAD_BYTES) {
      this.#paused = true;
      this.#socket.pause();
    }
  };

  #onPeerEnd = (): void => {
    this.#readEnded = true;
    this.#reader?.(null);
    this.#reader = null;
  };

  #onClosed = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    this.#onPeerEnd();
    // A write that a destroyed socket never calls back must still be answered.
    if (this.#done) this.#written(new Error("connection closed"));
  };
}

class NodeTlsListener implements TlsListener {
  readonly transport = "tls" as const;
  readonly hostname: string;
  readonly port: number;
  #server: tls.Server;
  #arrivals = new Arrivals<TlsConnection>();
  // Connections whose handshake is under way, by peer address, each with the timer that ends it:
  // node:tls's own handshakeTimeout does nothing on Deno.
  #handshakes = new Map<string, ReturnType<typeof setTimeout>>();

  #quirks: TlsQuirks;

  constructor(server: tls.Server, handshakeTimeoutMs: number, quirks: TlsQuirks) {
    this.#server = server;
    this.#quirks = quirks;
    server.on("connection", (raw: net.Socket) => {
      const peer = `${raw.remoteAddress}:${raw.remotePort}`;
      const timer = setTimeout(() => {
        this.#handshakes.delete(peer);
        raw.destroy();
      }, handshakeTimeoutMs);
      this.#handshakes.set(peer, timer);
      raw.once("close", () => this.#handshakeOver(peer));
    });
    const address = server.address();
    this.hostname = typeof address === "object" && address ? address.address : "";
    this.port = typeof address === "object" && address ? address.port : 0;
    server.on("secureConnection", (socket: tls.TLSSocket) => this.#onSecure(socket));
    // A failed handshake (a plain-text peer, a client that does not trust us, a timeout) costs
    // only that connection, which node:tls has already destroyed.
    server.on("tlsClientError", () => {});
    server.on("error", () => {});
  }

  #handshakeOver(peer: string): void {
    clearTimeout(this.#handshakes.get(peer));
    this.#handshakes.delete(peer);
  }

  #onSecure(socket: tls.TLSSocket): void {
    this.#handshakeOver(`${socket.remoteAddress}:${socket.remotePort}`);
    // Reset by the peer before it was handed over: it has no address, and nothing to serve.
    if (this.#arrivals.closed || socket.remoteAddress === undefined) return void socket.destroy();
    this.#arrivals.push(new TlsConnection(socket, this.#quirks));
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.#arrivals[Symbol.asyncIterator]();
  }

  renew(credentials: TlsCredentials): void {
    this.#server.setSecureContext({ cert: credentials.cert, key: credentials.key });
  }

  close(): void {
    if (this.#arrivals.closed) return;
    this.#server.close(); // stops accepting; the connections it made stay open
    this.#arrivals.close();
  }
}

/** The seam's TLS functions, for a runtime whose node:tls behaves as `quirks` say. */
export function tlsEdge(quirks: TlsQuirks): Pick<Runtime, "listenTls" | "connectTls"> {
  return {
    listenTls: (hostname, port, credentials, handshakeTimeoutMs) =>
      listenTls(hostname, port, credentials, handshakeTimeoutMs, quirks),
    connectTls: (hostname, port, ca) => connectTls(hostname, port, ca, quirks),
  };
}

async function listenTls(
  hostname: string,
  port: number,
  credentials: TlsCredentials,
  handshakeTimeoutMs: number,
  quirks: TlsQuirks,
): Promise<TlsListener> {
  const server = tls.createServer({
    cert: credentials.cert,
    key: credentials.key,
    allowHalfOpen: true,
    handshakeTimeout: handshakeTimeoutMs,
  });
  server.listen(port, hostname);
  await once(server, "listening"); // rejects with the server's "error" (EADDRINUSE, ...)
  return new NodeTlsListener(server, handshakeTimeoutMs, quirks);
}

function connectTls(
  hostname: string,
  port: number,
  ca: string | undefined,
  quirks: TlsQuirks,
): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: hostname,
      port,
      // Named explicitly: a runtime's bundled list is not the system's (tls.getCACertificates).
      ca: ca ?? tls.getCACertificates("system"),
      allowHalfOpen: true,
      // An IP address is checked against the certificate's IP names; it is no server name.
      servername: /^[\d.]+$|:/.test(hostname) ? undefined : hostname,
    });
    const failed = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.on("error", failed);
    socket.once("secureConnect", () => {
      socket.off("error", failed);
      resolve(new TlsConnection(socket, quirks));
    });
  });
}
