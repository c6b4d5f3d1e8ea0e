// The seam between Parley and its JavaScript runtime. Everything above this file is written against
// these shapes; runtime_deno.ts and runtime_bun.ts fill them in, and `runtime` below is the one place
// that decides which.

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
   * Writes all of `bytes`, however many partial writes it takes. Returns undefined when the
   * runtime took them all at once, or else a promise that settles once it has, and rejects if the
   * connection fails. One write at a time: callers wait for each before starting the next.
   * (A server makes one write per member per event: not making a promise for each is worth it.)
   */
  write(bytes: Uint8Array): Promise<void> | undefined;
  /** Sends end-of-stream and keeps reading (TCP half-close). */
  closeWrite(): Promise<void>;
  /** Closes both directions; a pending read() resolves to null. Safe to call twice. */
  close(): void;
}

export interface Listener extends AsyncIterable<Connection> {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting; connections already accepted stay open. */
  close(): void;
}

export interface Runtime {
  readonly name: "deno" | "bun";
  listen(hostname: string, port: number): Listener;
  connect(hostname: string, port: number): Promise<Connection>;
}

// Literal import paths, so that `bun build --compile` and `deno compile` bundle both edges.
export const runtime: Runtime = "Bun" in globalThis
  ? (await import("./runtime_bun.ts")).bunRuntime
  : (await import("./runtime_deno.ts")).denoRuntime;

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
