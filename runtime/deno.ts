// Deno behind the runtime seam: Deno.listen and Deno.connect; Deno.serve and
// Deno.upgradeWebSocket for HTTP and WebSocket (behind node:tls for HTTPS and WSS, deno_https.ts);
// TLS is node:tls, in tls.ts.
import type {
  Connection,
  HttpAnswer,
  HttpRequest,
  HttpServer,
  Listener,
  Runtime,
  SendStatus,
  TlsCredentials,
  WebSocketEvents,
  WebSocketPeer,
  WriteDone,
} from "../runtime.ts";
import { type PeerOf, serveHttpsInFront } from "./deno_https.ts";
import { tlsEdge } from "./tls.ts";

// Reads start small so that an idle connection holds little memory, and double while the peer
// fills them, so that a busy one is read in few calls.
const FIRST_READ_BYTES = 256;
const MAX_READ_BYTES = 256 * 1024;

class DenoConnection implements Connection {
  readonly remoteHost: string;
  readonly remotePort: number;
  #conn: Deno.TcpConn;
  #readBuffer = new Uint8Array(FIRST_READ_BYTES);
  #closed = false;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    const addr = conn.remoteAddr;
    this.remoteHost = addr.hostname;
    this.remotePort = addr.port;
    // Latency matters more than segment count: Parley coalesces its own writes.
    conn.setNoDelay(true);
    // Finds peers that vanished without a word (line members are never pinged).
    conn.setKeepAlive(true);
  }

  // Not an async function, which would make a promise of its own for each read; a read is pending
  // for most of a connection's life, so the steps chained to Deno's are made once per connection.
  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.resolve(null);
    try {
      return this.#conn.read(this.#readBuffer).then(this.#afterRead, this.#readFailed);
    } catch {
      return Promise.resolve(null); // a closed connection may throw at once
    }
  }

  #afterRead = (count: number | null): Uint8Array | null => {
    if (count === null) return null;
    const chunk = this.#readBuffer.subarray(0, count);
    if (count === this.#readBuffer.length && count < MAX_READ_BYTES) {
      this.#readBuffer = new Uint8Array(count * 2); // the old one stays valid for `chunk`
    }
    return chunk;
  };

  // Reset by the peer, or closed by us: either way the stream has ended.
  #readFailed = (): null => null;

  // Deno's writes always answer with a promise. One step chained to it, made once per connection,
  // finishes a partial write and then calls the caller back: a write makes no other promise.
  #unwritten: Uint8Array | null = null;
  #done: WriteDone | null = null;

  write(bytes: Uint8Array, done: WriteDone): void {
    this.#done = done;
    this.#writeSome(bytes);
  }

  #writeSome(bytes: Uint8Array): void {
    this.#unwritten = bytes;
    let written: Promise<number>;
    try {
      written = this.#conn.write(bytes);
    } catch (error) {
      return this.#writeFailed(error); // a closed connection may throw at once
    }
    written.then(this.#afterWrite, this.#writeFailed);
  }

  #afterWrite = (count: number): void => {
    const bytes = this.#unwritten!;
    if (count < bytes.length) return this.#writeSome(bytes.subarray(count));
    this.#finishWrite();
  };

  // Whatever Deno rejects with, the caller must hear a failure.
  #writeFailed = (error: unknown): void =>
    this.#finishWrite(error instanceof Error ? error : new Error(`write failed: ${error}`));

  #finishWrite(error?: Error): void {
    const done = this.#done!;
    this.#unwritten = null;
    this.#done = null;
    done(error);
  }

  async closeWrite(): Promise<void> {
    if (!this.#closed) await this.#conn.closeWrite();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the runtime after an error
    }
  }
}

class DenoListener implements Listener {
  #listener: Deno.TcpListener;
  readonly hostname: string;
  readonly port: number;

  constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
    this.hostname = listener.addr.hostname;
    this.port = listener.addr.port;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return; // we closed it
        // The peer reset the connection before we accepted it: that one is gone, not the listener.
        if (
          error instanceof Deno.errors.NotConnected ||
          error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.ConnectionAborted
        ) continue;
        throw error;
      }
      yield new DenoConnection(conn);
    }
  }

  close(): void {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
  }
}

// Deno's WebSocket buffers whatever is sent, without bound, and says nothing when it has written
// it: past this many unsent bytes a send says "wait", and bufferedAmount is polled until it is
// back under, so that Parley's send queue, which counts what waits, is what bites.
const WEBSOCKET_HIGH_WATER_BYTES = 256 * 1024;
const DRAIN_POLL_MS = 5;

class DenoWebSocketPeer implements WebSocketPeer {
  events: WebSocketEvents | null = null;
  #socket: WebSocket;
  #polling: ReturnType<typeof setInterval> | undefined;

  constructor(socket: WebSocket, readonly remoteHost: string, readonly remotePort: number) {
    this.#socket = socket;
  }

  send(text: string): SendStatus {
    if (this.#socket.readyState !== WebSocket.OPEN) return "closed";
    try {
      this.#socket.send(text);
    } catch {
      return "closed";
    }
    if (this.#socket.bufferedAmount <= WEBSOCKET_HIGH_WATER_BYTES) return "sent";
    this.#polling ??= setInterval(this.#poll, DRAIN_POLL_MS);
    return "wait";
  }

  #poll = (): void => {
    const open = this.#socket.readyState === WebSocket.OPEN;
    if (open && this.#socket.bufferedAmount > WEBSOCKET_HIGH_WATER_BYTES) return;
    this.stopPolling();
    if (open) this.events?.drain();
  };

  stopPolling(): void {
    clearInterval(this.#polling);
    this.#polling = undefined;
  }

  batch(sends: () => void): void {
    sends(); // Deno writes each message on its own, whatever we do
  }

  pause(): boolean {
    return false; // Deno reads every message as it comes
  }

  resume(): void {}

  close(code: number, reason: string): void {
    try {
      this.#socket.close(code, reason);
    } catch {
      // already closing
    }
  }

  terminate(): void {
    this.close(1000, "");
  }
}

// What answers the web port's requests, on a server whose connections stand for the peers that
// `peerOf` tells (itself, unless it says otherwise).
function handler(
  answer: (request: HttpRequest) => HttpAnswer,
  peerOf: PeerOf = () => undefined,
): Deno.ServeHandler<Deno.NetAddr> {
  return (request, info) => {
    const remote = peerOf(info.remoteAddr.port) ?? info.remoteAddr;
    const reply = answer({
      method: request.method,
      path: new URL(request.url).pathname,
      headers: request.headers,
      remoteHost: remote.hostname,
      remotePort: remote.port,
    });
    if (!("upgrade" in reply)) {
      return new Response(reply.body as BodyInit, reply);
    }
    // Parley pings its own members: Deno's pings would only add a second clock.
    const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
    socket.binaryType = "arraybuffer";
    const peer = new DenoWebSocketPeer(socket, remote.hostname, remote.port);
    socket.onopen = () => peer.events = reply.upgrade(peer);
    socket.onmessage = (event) => {
      const data = event.data;
      peer.events?.message(typeof data === "string" ? data : new Uint8Array(data));
    };
    socket.onclose = () => {
      peer.stopPolling();
      peer.events?.closed();
      peer.events = null;
    };
    return response;
  };
}

/** A connection to `port` on the loopback, and the port it comes from (deno_https.ts). */
export async function connectLoopback(
  port: number,
): Promise<{ conn: Connection; localPort: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port, transport: "tcp" });
  return { conn: new DenoConnection(conn), localPort: conn.localAddr.port };
}

function serveHttp(
  hostname: string,
  port: number,
  answer: (request: HttpRequest) => HttpAnswer,
  _maxMessageBytes: number,
  tls?: TlsCredentials,
): Promise<HttpServer> {
  if (tls) {
    return serveHttpsInFront(hostname, port, tls, {
      listenTls: denoTls.listenTls,
      connectLoopback,
      handler: (peerOf) => handler(answer, peerOf),
    });
  }
  const server = Deno.serve({ hostname, port, onListen: () => {} }, handler(answer));
  return Promise.resolve({
    hostname: server.addr.hostname,
    port: server.addr.port,
    close: () => void server.shutdown().catch(() => {}),
    renew: () => Promise.reject(new Error("this web port has no certificate")),
  });
}

const denoTls = tlsEdge({ pauseHoldsBack: false });

export const denoRuntime: Runtime = {
  name: "deno",
  ...denoTls,
  listen(hostname, port) {
    return new DenoListener(Deno.listen({ hostname, port, transport: "tcp" }));
  },
  async connect(hostname, port) {
    return new DenoConnection(await Deno.connect({ hostname, port, transport: "tcp" }));
  },
  serveHttp,
};
