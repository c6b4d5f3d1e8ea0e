// What the web port answers: the browser client's files, /ws for WebSocket members, /metrics and
// /healthz; over HTTP, or HTTPS with the TLS flags. No I/O: the runtime serves the answers
// (runtime.ts, serveHttp).
import type {
  HttpAnswer,
  HttpRequest,
  HttpResponse,
  Runtime,
  TlsCredentials,
  WebSocketUpgrade,
} from "../runtime.ts";
import { WebSocketListener } from "./websocket_member.ts";

/** The web port when --http-port is not given. */
export const DEFAULT_HTTP_PORT = 9080;

// A WebSocket message this much longer than --max-frame is still read, so that it gets the same
// frame_too_large error as on TCP; a longer one is cut off by the runtime (close code 1009).
const OVERSIZE_READ_BYTES = 64 * 1024;

/** A file of the browser client: web/assets.ts maps URL paths to them. */
export interface Asset {
  type: string;
  body: string;
}

export interface WebOptions {
  assets: ReadonlyMap<string, Asset>;
  /**
   * Origins (scheme://host[:port]) whose pages may open /ws besides the server's own, or "*" for
   * any. A request without Origin is not from a browser page, and is let through.
   */
  allowOrigins: readonly string[];
  /** Hands an accepted WebSocket to the server. */
  members: WebSocketUpgrade;
  /** The metrics page's text. */
  metrics: () => string;
}

// What a browser may do with our pages: load what they need from this server only, and open
// WebSockets to it (named with ws: and wss: too, for browsers whose 'self' does not cover them).
function securityPolicy(host: string): string {
  const self = /^[\w.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : "";
  return `default-src 'self'; connect-src 'self'${self}; img-src 'self' data:; ` +
    `base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

function text(status: number, body: string, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...headers,
    },
    body,
  };
}

/** Why a page at `origin` may not open a WebSocket to `host`, or null if it may. */
export function originProblem(
  origin: string | null,
  host: string | null,
  allowed: readonly string[],
): string | null {
  if (origin === null) return null;
  if (allowed.includes("*") || allowed.includes(origin)) return null;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return `Origin "${origin}" is not a URL`;
  }
  if (host !== null && originHost === host.toLowerCase()) return null;
  return `a page at ${origin} may not open a WebSocket here (see --allow-origin)`;
}

/** The answer to each request on the web port. */
export function webAnswer(options: WebOptions): (request: HttpRequest) => HttpAnswer {
  return (request) => {
    const { method, path, headers } = request;
    if (method !== "GET" && method !== "HEAD") {
      return text(405, "Only GET and HEAD are served here\n", { allow: "GET, HEAD" });
    }
    if (path === "/ws") {
      if (headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return text(426, "Expected a WebSocket upgrade\n", { upgrade: "websocket" });
      }
      const problem = originProblem(
        headers.get("origin"),
        headers.get("host"),
        options.allowOrigins,
      );
      return problem ? text(403, `Forbidden: ${problem}\n`) : options.members;
    }
    if (path === "/healthz") return text(200, "ok");
    if (path === "/metrics") {
      return text(200, options.metrics(), {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      });
    }
    const asset = options.assets.get(path);
    if (!asset) return text(404, "Not found\n");
    return {
      status: 200,
      headers: {
        "content-type": asset.type,
        // The page may change with the server: a browser asks again each time, cheaply.
        "cache-control": "no-cache",
        "content-security-policy": securityPolicy(headers.get("host") ?? ""),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
      },
      body: method === "HEAD" ? "" : asset.body,
    };
  };
}

/**
 * Serves the web port on `host:port`, as HTTPS and WSS with `tls`; its WebSocket members come
 * from the listener returned, which is handed to the ChatServer like a TCP one. Closing it closes
 * the port.
 */
export async function openWeb(
  runtime: Runtime,
  host: string,
  port: number,
  options: Omit<WebOptions, "members">,
  maxFrameBytes: number,
  tls?: TlsCredentials,
): Promise<WebSocketListener> {
  const listener = new WebSocketListener();
  listener.secure = tls !== undefined;
  const answer = webAnswer({ ...options, members: { upgrade: (peer) => listener.accept(peer) } });
  const maxMessageBytes = maxFrameBytes + OVERSIZE_READ_BYTES;
  return listener.serving(await runtime.serveHttp(host, port, answer, maxMessageBytes, tls));
}
