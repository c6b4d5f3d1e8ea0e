// WebSocket members for the end-to-end tests: one over the runtime's own WebSocket client, as a
// browser page would be, and one that does the handshake and framing by hand over a raw TCP
// socket (RFC 6455), for what a browser cannot do: send any Origin, send a binary message, stop
// reading.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import tls from "node:tls";
import { Inbox, type Json, withFields, within } from "./_helpers.ts";

/** The web port's address from a server's "web client at http(s)://HOST:PORT/" line. */
export function webPortOf(line: string): number {
  const match = /^web client at https?:\/\/.+:(\d+)\/$/.exec(line);
  if (!match) throw new Error(`not the web line: ${line}`);
  return Number(match[1]);
}

/** A member over the global WebSocket: each message is one native message, as JSON text. */
export class WebMember {
  readonly socket: WebSocket;
  readonly closed: Promise<CloseEvent>;
  #messages = new Inbox<Json>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (event) => this.#messages.push(JSON.parse(event.data as string));
    this.closed = new Promise((resolve) => {
      socket.onclose = (event) => {
        this.#messages.end();
        resolve(event);
      };
    });
  }

  static async connect(port: number): Promise<WebMember> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const opened = new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`cannot open ws://127.0.0.1:${port}/ws`));
    });
    await within(opened, "the WebSocket to open");
    return new WebMember(socket);
  }

  /** Connects and sends `hello` with `fields`, returning once the welcome has arrived. */
  static async join(port: number, nick: string, fields: Json = {}): Promise<WebMember> {
    const member = await WebMember.connect(port);
    member.send({ type: "hello", nick, ...fields });
    await member.expect({ type: "welcome" });
    return member;
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** The next message, or null once the connection has closed. */
  next(what = "a message"): Promise<Json | null> {
    return this.#messages.next(what);
  }

  /** The next message, which must have every field of `fields`; returns the whole message. */
  async expect(fields: Json): Promise<Json> {
    return withFields(await this.next(JSON.stringify(fields)), fields);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await within(this.closed, "the WebSocket to close");
  }
}

/** One WebSocket frame as received. */
export interface WireFrame {
  opcode: number;
  payload: Buffer;
}

export const TEXT = 0x1, BINARY = 0x2, CLOSE = 0x8;

/** A WebSocket client written by hand over a raw socket. */
export class RawWebSocket {
  readonly socket: net.Socket;
  /** The status line and headers of the server's answer to the handshake. */
  readonly status: number;
  readonly response: string;
  /** Every frame received, in order; ends when the socket closes. */
  readonly frames = new Inbox<WireFrame>();
  #buffer: Buffer;

  private constructor(socket: net.Socket, response: string, rest: Buffer) {
    this.socket = socket;
    this.response = response;
    this.status = Number(response.split(" ")[1]);
    this.#buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => this.#receive(chunk));
    socket.on("close", () => this.frames.end());
    if (rest.length > 0) this.#receive(rest);
  }

  /**
   * Opens a TCP connection, or a TLS one trusting `ca` (PEM), and sends the handshake for /ws,
   * with `headers` added.
   */
  static async open(
    port: number,
    headers: Record<string, string> = {},
    ca?: string,
  ): Promise<RawWebSocket> {
    const socket = ca === undefined
      ? net.connect({ port, host: "127.0.0.1", noDelay: true })
      : tls.connect({ port, host: "127.0.0.1", noDelay: true, ca });
    socket.on("error", () => {}); // a reset shows as a close
    const connected = once(socket, ca === undefined ? "connect" : "secureConnect");
    await within(connected, `a connection to port ${port}`);
    const lines = [
      "GET /ws HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    let received = Buffer.alloc(0);
    const answered = new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onData);
        socket.pause();
        resolve(end);
      };
      socket.on("data", onData);
      socket.once("close", () => reject(new Error("closed before answering the handshake")));
    });
    const end = await within(answered, "the answer to the handshake");
    const raw = new RawWebSocket(
      socket,
      received.subarray(0, end).toString("latin1"),
      received.subarray(end + 4),
    );
    socket.resume();
    return raw;
  }

  sendText(text: string): void {
    this.socket.write(RawWebSocket.encode(TEXT, Buffer.from(text, "utf8")));
  }

  sendJson(message: unknown): void {
    this.sendText(JSON.stringify(message));
  }

  sendBinary(bytes: Uint8Array): void {
    this.socket.write(RawWebSocket.encode(BINARY, Buffer.from(bytes)));
  }

  /** A client frame: FIN, `opcode`, masked as the protocol requires. */
  static encode(opcode: number, payload: Buffer): Buffer {
    const length = payload.length;
    const header = length < 126
      ? Buffer.alloc(2)
      : length < 65536
      ? Buffer.alloc(4)
      : Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    if (length < 126) header[1] = 0x80 | length;
    else if (length < 65536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(length, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(length), 2);
    }
    const mask = randomBytes(4);
    const masked = Buffer.alloc(length);
    for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i & 3];
    return Buffer.concat([header, mask, masked]);
  }

  // Server frames are not masked. Fragmented messages are not expected from Parley.
  #receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 2) {
      const buffer = this.#buffer;
      let length = buffer[1] & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (buffer.length < at + length) return;
      this.frames.push({ opcode: buffer[0] & 0x0f, payload: buffer.subarray(at, at + length) });
      this.#buffer = buffer.subarray(at + length);
    }
  }

  /** The next text message as JSON; fails on anything else but the end (null). */
  async nextJson(what = "a text message"): Promise<Json | null> {
    const frame = await this.frames.next(what);
    if (frame === null || frame.opcode === CLOSE) return null;
    if (frame.opcode !== TEXT) {
      throw new Error(`expected a text message, got opcode ${frame.opcode}`);
    }
    return JSON.parse(frame.payload.toString("utf8"));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.socket.destroyed) {
      this.socket.destroy();
      await new Promise((resolve) => this.socket.once("close", resolve));
    }
  }
}
