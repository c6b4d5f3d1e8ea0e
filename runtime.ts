// The seam between Parley and its JavaScript runtime: the shapes that everything else is written
// against. runtime/deno.ts and runtime/bun.ts fill them in, and runtime/current.ts, imported by the
// entry points alone, picks one. This file names neither runtime and imports nothing.

/** Called once a write has finished: with no argument, or with why the connection failed. */
export type WriteDone = (error?: Error) => void;

/** One TCP connection, either accepted by a Listener or opened by connect(). */
export interface Connection {
  /** The peer's address, for logs and per-address limits. */
  readonly remoteHost: string;
  readonly remotePort: number;
  /**
   * The next bytes from the peer, or null once the peer has closed its side or the connection
   * failed. The chunk is valid only until the next call: consume or copy it first.
   */
  read(): Promise<Uint8Array | null>;
  /**
   * Writes all of `bytes`, however many partial writes it takes, then calls `done` with no
   * argument, or with the error if the connection failed first. `done` may be called before write
   * returns, when the runtime took every byte at once. One write at a time: callers wait for
   * `done` before starting the next. (A server makes one write per member per event, so this
   * takes a callback made once per connection rather than making a promise for every write.)
   */
  write(bytes: Uint8Array, done: WriteDone): void;
  /**
   * Where present, taken instead of `write`: the same bytes, as the arrays they were queued in
   * (whole frames, each still in the buffer it was encoded in), for a connection that cuts them
   * into messages again (WebSocket) and so gains nothing from having them joined first.
   */
  writeParts?(parts: readonly Uint8Array[], done: WriteDone): void;
  /** Sends end-of-stream and keeps reading (TCP half-close). */
  closeWrite(): Promise<void>;
  /** Closes both directions; a pending read() resolves to null. Safe to call twice. */
  close(): void;
  /**
   * Set when the connection itself ended the input after telling the peer why (a WebSocket that
   * sent a binary message): the error's code, for /metrics, and words for the log.
   */
  readonly refused?: { readonly code: string; readonly reason: string } | null;
}

/** How members reach the server: plain TCP, TLS, or WebSocket (over HTTP or HTTPS). */
export type Transport = "tcp" | "tls" | "ws";

export interface Listener extends AsyncIterable<Connection> {
  readonly hostname: string;
  readonly port: number;
  /** What its connections come over; "tcp" when not said. */
  readonly transport?: Transport;
  /**
   * Whether its connections are encrypted: TLS, or WebSocket on a web port served over HTTPS.
   * When not said, those of a "tls" listener are and no others.
   */
  readonly secure?: boolean;
  /** Stops accepting; connections already accepted stay open. */
  close(): void;
}

/** As much of an HTTP request as Parley looks at. */
export interface HttpRequest {
  readonly method: string;
  /** The URL's path, without its query. */
  readonly path: string;
  readonly headers: Headers;
  readonly remoteHost: string;
  readonly remotePort: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** The answer that turns the request into a WebSocket: `open` is called once it is open. */
export interface WebSocketUpgrade {
  upgrade(peer: WebSocketPeer): WebSocketEvents;
}

export type HttpAnswer = HttpResponse | WebSocketUpgrade;

/**
 * What `send` says: "sent"; "wait" (sent, but the runtime holds more unsent bytes than it should:
 * send no more until `drain`); or "closed" (not sent: the socket is closed).
 */
export type SendStatus = "sent" | "wait" | "closed";

/** The server's end of one WebSocket. */
export interface WebSocketPeer {
  readonly remoteHost: string;
  readonly remotePort: number;
  /** Sends one text message. */
  send(text: string): SendStatus;
  /**
   * Runs `sends`, whose messages the runtime may then write together: one system call for many
   * messages rather than one each.
   */
  batch(sends: () => void): void;
  /** Stops reading, so that TCP holds the peer back; false where the runtime cannot. */
  pause(): boolean;
  resume(): void;
  /** Starts the closing handshake: the peer's close ends the stream of messages. */
  close(code: number, reason: string): void;
  /** Drops the connection at once. */
  terminate(): void;
}

/** What the runtime tells about one WebSocket, in order. */
export interface WebSocketEvents {
  message(data: string | Uint8Array): void;
  /** The runtime took what it held after a send said "wait". */
  drain(): void;
  /** The connection has closed, either way; nothing more comes. */
  closed(): void;
}

export interface HttpServer {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting; WebSockets already open stay open. */
  close(): void;
  /**
   * Serves new connections with `credentials`, on the same port; requests and WebSockets already
   * open go on. Rejects if the server has no certificate, or cannot have its port again.
   */
  renew(credentials: TlsCredentials): Promise<void>;
}

/** A certificate chain (the server's first) and its private key, as PEM text. */
export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
}

/** A Listener whose connections are TLS: each is handed over once its handshake is done. */
export interface TlsListener extends Listener {
  /** Handshakes from now on use `credentials`; connections already made keep theirs. */
  renew(credentials: TlsCredentials): void;
}

/**
 * What a Listener has accepted and not yet handed over, in order. The server's iteration takes
 * them, or waits for the next; once closed, it ends when what is kept has been taken.
 */
export class Arrivals<T> implements AsyncIterable<T> {
  #kept: T[] = [];
  #waiter: ((item: T | null) => void) | null = null;
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** Hands `item` to the iteration; false once closed, when the caller must close it itself. */
  push(item: T): boolean {
    if (this.#closed) return false;
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter) waiter(item);
    else this.#kept.push(item);
    return true;
  }

  close(): void {
    this.#closed = true;
    this.#waiter?.(null);
    this.#waiter = null;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      const item = this.#kept.shift() ??
        (this.#closed ? null : await new Promise<T | null>((resolve) => this.#waiter = resolve));
      if (item === null) return;
      yield item;
    }
  }
}

export interface Runtime {
  readonly name: "deno" | "bun";
  listen(hostname: string, port: number): Listener;
  connect(hostname: string, port: number): Promise<Connection>;
  /**
   * Serves HTTP on `hostname:port`, answering each request with what `answer` says; HTTPS (and
   * WSS) with `tls`. A WebSocket message longer than `maxMessageBytes` may close its connection.
   */
  serveHttp(
    hostname: string,
    port: number,
    answer: (request: HttpRequest) => HttpAnswer,
    maxMessageBytes: number,
    tls?: TlsCredentials,
  ): Promise<HttpServer>;
  /** A peer that has not finished its handshake within `handshakeTimeoutMs` is closed. */
  listenTls(
    hostname: string,
    port: number,
    credentials: TlsCredentials,
    handshakeTimeoutMs: number,
  ): Promise<TlsListener>;
  /**
   * A TLS connection whose server has proven it is `hostname` with a certificate signed by one of
   * `ca` (PEM), or by one of the system's certificate authorities when `ca` is not given.
   */
  connectTls(hostname: string, port: number, ca?: string): Promise<Connection>;
}

/** Writes `bytes` and settles once they are written: for callers that can afford a promise. */
export function writeAll(conn: Connection, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.write(bytes, (error) => error ? reject(error) : resolve());
  });
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

// What the system's error codes mean, in a few words. Deno and Bun both set `code`; their messages
// say less ("Failed to connect") or more (a path, a stack) than a person needs.
const SYSTEM_ERRORS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "that address is not one of this machine's",
  ECONNREFUSED: "connection refused",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
  ETIMEDOUT: "timed out",
  ENOTFOUND: "no such host",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EEXIST: "already exists",
  ENOTDIR: "not a directory",
  ENOENT: "no such file or directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  // A TLS server that cannot prove who it is: node:tls's codes, the same on both runtimes.
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its certificate is not signed by a trusted authority",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "its certificate is not signed by a trusted authority",
  UNABLE_TO_GET_ISSUER_CERT: "its certificate is not signed by a trusted authority",
  SELF_SIGNED_CERT_IN_CHAIN: "its certificate is self-signed, and not trusted",
  DEPTH_ZERO_SELF_SIGNED_CERT: "its certificate is self-signed, and not trusted",
  CERT_HAS_EXPIRED: "its certificate has expired",
  CERT_NOT_YET_VALID: "its certificate is not valid yet",
  ERR_TLS_CERT_ALTNAME_INVALID: "its certificate is for another host",
  ERR_SSL_WRONG_VERSION_NUMBER: "it does not speak TLS on this port",
};

/** The words for `error`'s system error code, or null when it has none this table knows. */
export function knownProblem(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && Object.hasOwn(SYSTEM_ERRORS, code)
    ? SYSTEM_ERRORS[code]
    : null;
}

/** Why a system call failed, in a few words on one line. */
export function systemProblem(error: unknown): string {
  return knownProblem(error) ??
    String(error instanceof Error ? error.message : error).split("\n")[0];
}
