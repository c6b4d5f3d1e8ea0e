// HTTPS and WSS on Deno, with a certificate that is renewed without dropping a WebSocket.
// Deno.serve takes its certificate once, and closes its WebSockets when it stops, so serving the
// port anew would drop every WebSocket member at each renewal. Instead, TLS is node:tls in front
// (tls.ts, whose listener takes a new certificate for new handshakes), and each TLS connection,
// once its handshake is done, is piped to a plain Deno.serve on the loopback. That inner server
// answers only the connections piped to it: a request from any other is refused.
import type { Connection, HttpServer, TlsCredentials, TlsListener } from "../runtime.ts";
import { writeAll } from "../runtime.ts";

// The web port's handshakes get what the TLS port's get by default (--hello-timeout).
const HANDSHAKE_TIMEOUT_MS = 10_000;
const LOOPBACK = "127.0.0.1";

/** A peer of the TLS port, by the loopback port its piped connection comes from. */
export type PeerOf = (loopbackPort: number) => { hostname: string; port: number } | undefined;

export interface HttpsParts {
  listenTls(
    hostname: string,
    port: number,
    credentials: TlsCredentials,
    handshakeTimeoutMs: number,
  ): Promise<TlsListener>;
  /** A loopback connection to `port`, and the port it comes from. */
  connectLoopback(port: number): Promise<{ conn: Connection; localPort: number }>;
  /** What answers a request, told which peer of the TLS port each connection stands for. */
  handler(peerOf: PeerOf): Deno.ServeHandler<Deno.NetAddr>;
}

/** The HTTPS server, and the port of the plain one behind it on the loopback. */
export interface HttpsInFront extends HttpServer {
  readonly innerPort: number;
}

export async function serveHttpsInFront(
  hostname: string,
  port: number,
  credentials: TlsCredentials,
  parts: HttpsParts,
): Promise<HttpsInFront> {
  const peers = new Map<number, { hostname: string; port: number }>();
  const handler = parts.handler((loopbackPort) => peers.get(loopbackPort));
  const inner = Deno.serve(
    { hostname: LOOPBACK, port: 0, onListen: () => {} },
    (request, info) =>
      peers.has(info.remoteAddr.port)
        ? handler(request, info)
        : new Response("Forbidden: this port is the server's own\n", { status: 403 }),
  );
  let front: TlsListener;
  try {
    front = await parts.listenTls(hostname, port, credentials, HANDSHAKE_TIMEOUT_MS);
  } catch (error) {
    await inner.shutdown();
    throw error;
  }
  const pipeToInner = async (outer: Connection) => {
    let piped: { conn: Connection; localPort: number };
    try {
      piped = await parts.connectLoopback(inner.addr.port);
    } catch {
      return outer.close();
    }
    const { conn, localPort } = piped;
    peers.set(localPort, { hostname: outer.remoteHost, port: outer.remotePort });
    const close = () => {
      outer.close();
      conn.close();
    };
    await Promise.all([pipe(outer, conn).catch(close), pipe(conn, outer).catch(close)]);
    peers.delete(localPort);
    close();
  };
  (async () => {
    for await (const outer of front) void pipeToInner(outer);
  })().catch(() => {}); // the listener failed: the port is gone, as when it is closed
  return {
    hostname: front.hostname,
    port: front.port,
    innerPort: inner.addr.port,
    close() {
      front.close();
      inner.shutdown().catch(() => {});
    },
    renew(renewed) {
      front.renew(renewed);
      return Promise.resolve();
    },
  };
}

// One write in flight, and the next read only once it is done: a side that reads slowly holds the
// other back, as TCP would. A chunk is valid until the next read, so it is written first.
async function pipe(from: Connection, to: Connection): Promise<void> {
  for (let chunk = await from.read(); chunk !== null; chunk = await from.read()) {
    await writeAll(to, chunk);
  }
  await to.closeWrite();
}
