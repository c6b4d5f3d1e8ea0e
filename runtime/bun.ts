// Bun behind the runtime seam: Bun.listen and Bun.connect; Bun.serve for HTTP and WebSocket; TLS
// is node:tls, in tls.ts. Bun pushes events into shared handlers; this file turns them into the
// pull-style Connection that the rest of Parley reads with await.
import type { ServerWebSocket, Socket, SocketHandler, TCPSocketListener } from "bun";
import {
  Arrivals,
  type Connection,
  type HttpAnswer,
  type HttpRequest,
  type HttpServer,
  type Listener,
  type Runtime,
  type SendStatus,
  type TlsCredentials,
  type WebSocketEvents,
  type WebSocketPeer,
  type WebSocketUpgrade,
  type WriteDone,
} from "../runtime.ts";
import { listenAgain } from "./listen_again.ts";
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
  #arrivals = new Arrivals<BunConnection>();

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
    if (!this.#arrivals.push(conn)) conn.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.#arrivals[Symbol.asyncIterator]();
  }

  close(): void {
    if (this.#arrivals.closed) return;
    this.#server.stop(false); // false: leave the accepted connections open
    this.#arrivals.close();
  }
}

// Bun drops what is sent past its backpressure limit (16 MiB by default) and only says so in the
// return value. Parley waits for `drain` after every send Bun calls backpressured, so Bun never
// holds more than one write of the send queue (a frame at most, past 256 KiB); the limit is set
// well above that, so that dropping never happens.
const WEBSOCKET_BACKPRESSURE_LIMIT_BYTES = 64 * 1024 * 1024;

interface BunSocketData {
  upgrade: WebSocketUpgrade;
  remotePort: number;
  events: WebSocketEvents | null;
}

class BunWebSocketPeer implements WebSocketPeer {
  readonly remoteHost: string;
  readonly remotePort: number;
  #ws: ServerWebSocket<BunSocketData>;

  constructor(ws: ServerWebSocket<BunSocketData>) {
    this.#ws = ws;
    this.remoteHost = ws.remoteAddress;
    this.remotePort = ws.data.remotePort;
  }

  send(text: string): SendStatus {
    const status = this.#ws.sendText(text);
    return status > 0 ? "sent" : status === -1 ? "wait" : "closed";
  }

  batch(sends: () => void): void {
    // Outside Bun's own handlers, each send is a write of its own unless corked.
    this.#ws.cork(sends);
  }

  pause(): boolean {
    this.#ws.pause();
    return true;
  }

  resume(): void {
    this.#ws.resume();
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }
}

// deno-lint-ignore require-await
async function serveHttp(
  hostname: string,
  port: number,
  answer: (request: HttpRequest) => HttpAnswer,
  maxMessageBytes: number,
  tls?: TlsCredentials,
): Promise<HttpServer> {
  const start = (at: number, credentials?: TlsCredentials) =>
    Bun.serve<BunSocketData>({
      hostname,
      port: at,
      ...(credentials ? { tls: credentials } : {}),
      fetch(request, server) {
        const remote = server.requestIP(request);
        const reply = answer({
          method: request.method,
          path: new URL(request.url).pathname,
          headers: request.headers,
          remoteHost: remote?.address ?? "",
          remotePort: remote?.port ?? 0,
        });
        if (!("upgrade" in reply)) return new Response(reply.body as BodyInit, reply);
        const data = { upgrade: reply, remotePort: remote?.port ?? 0, events: null };
        if (server.upgrade(request, { data })) return undefined;
        return new Response("Expected a WebSocket upgrade\n", { status: 400 });
      },
      websocket: {
        maxPayloadLength: maxMessageBytes,
        backpressureLimit: WEBSOCKET_BACKPRESSURE_LIMIT_BYTES,
        idleTimeout: 0, // Parley pings its own members
        sendPings: false,
        perMessageDeflate: false,
        open(ws) {
          ws.binaryType = "uint8array";
          ws.data.events = ws.data.upgrade.upgrade(new BunWebSocketPeer(ws));
        },
        message: (ws, data) => ws.data.events?.message(data as string | Uint8Array),
        drain: (ws) => ws.data.events?.drain(),
        close(ws) {
          ws.data.events?.closed();
          ws.data.events = null;
        },
      },
    });
  let server = start(port, tls);
  const bound = server.port ?? port;
  return {
    hostname: server.hostname ?? hostname,
    port: bound,
    close: () => void server.stop(false),
    // Bun.serve takes its certificate once (reload changes only the handlers): the port is served
    // anew, while the old server, stopped without closing its connections, keeps its WebSockets.
    async renew(credentials) {
      void server.stop(false);
      server = await listenAgain(() => start(bound, credentials));
    },
  };
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
  serveHttp,
};
