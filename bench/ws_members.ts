// The benchmark's members over WebSocket, as a browser page would join: one WebSocket each, one
// JSON message per text message (PROTOCOL.md, "WebSocket"), to Parley's /ws or to bun_room.ts.
// Each received message is copied into one reused buffer as bytes, for the same delivery checks
// as the other members; the copy is the load generator's, the same for both servers.
import type { DeliveryTracker } from "./delivery_tracker.ts";
import { Histogram } from "./histogram.ts";
import { clockUs, type MemberOptions, type Members } from "./members.ts";
import { benchNick, locateText, MessageTemplate, STAMP_BYTES, textTemplate } from "./payload.ts";

const ascii = new TextEncoder();
const asText = new TextDecoder();
const MSG_HEAD = '{"type":"msg"';

/** `{"type":"msg","text":"<text>"}`, as one WebSocket text message. */
function wsMessage(sender: number, size: number): MessageTemplate {
  return new MessageTemplate(
    ascii.encode('{"type":"msg","text":"'),
    textTemplate(sender, size),
    ascii.encode('"}'),
  );
}

export class WebSocketMembers implements Members {
  readonly echoes: boolean;
  sink: DeliveryTracker | null = null;
  strays = 0;
  reads = 0;
  history = 0;
  notices = 0;
  parsedInFull = 0;
  joinRetries = 0;
  readonly joinLatency = new Histogram();
  readonly failures: string[] = [];
  onFailure: () => void = () => {};
  #options: MemberOptions;
  #sockets: WebSocket[] = [];
  #templates: MessageTemplate[] = [];
  #closing = false;
  #bytes = new Uint8Array(64 * 1024);
  #textGuess = 0;

  constructor(options: MemberOptions) {
    this.#options = options;
    this.echoes = options.echo;
  }

  #fail(why: string): void {
    if (this.#closing) return;
    this.failures.push(why);
    if (this.failures.length === 1) this.onFailure();
  }

  join(member: number): Promise<void> {
    const { host, port, size } = this.#options;
    if (size > 0) this.#templates[member] = wsMessage(member, size);
    const what = `websocket member ${member}`;
    return new Promise((resolve, reject) => {
      let joined = false;
      const socket = new WebSocket(`ws://${host}:${port}/ws`);
      this.#sockets[member] = socket;
      socket.onopen = () => {
        const hello = {
          type: "hello",
          nick: benchNick(member),
          room: this.#options.roomOf(member),
          echo: this.echoes || undefined,
        };
        socket.send(JSON.stringify(hello));
      };
      socket.onclose = () =>
        joined ? this.#fail(`${what}: closed`) : reject(new Error(`${what}: closed`));
      socket.onmessage = (event) => {
        const text = event.data as string;
        this.reads++;
        if (text.startsWith(MSG_HEAD) && !text.endsWith("e}")) return this.#deliver(member, text);
        const message = JSON.parse(text);
        switch (message.type) {
          case "welcome":
            joined = true;
            resolve();
            break;
          case "msg":
            this.history++;
            break;
          case "join":
          case "leave":
            this.notices++;
            break;
          case "ping":
            socket.send('{"type":"pong"}');
            break;
          case "error":
            if (joined) this.#fail(`${what}: ${message.code}: ${message.message}`);
            else reject(new Error(`${what}: ${message.code}: ${message.message}`));
        }
      };
    });
  }

  #deliver(member: number, text: string): void {
    if (text.length > this.#bytes.length) this.#bytes = new Uint8Array(text.length * 2);
    const { written } = ascii.encodeInto(text, this.#bytes);
    const textAt = locateText(this.#bytes, 0, written, this.#textGuess);
    if (textAt < 0 || written - textAt <= STAMP_BYTES) return this.#fail(`not a stamp: ${text}`);
    this.#textGuess = textAt;
    if (this.sink) this.sink.deliver(member, this.#bytes, textAt, clockUs());
    else this.strays++;
  }

  publish(member: number, firstSeq: number, count: number, nowUs: number): void {
    const template = this.#templates[member];
    const bytes = template.stamp(firstSeq, count, nowUs);
    const one = template.bytes.length;
    const socket = this.#sockets[member];
    for (let at = 0; at < bytes.length; at += one) {
      socket.send(asText.decode(bytes.subarray(at, at + one)));
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#sockets.map((socket) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.addEventListener("close", () => resolve());
        socket.close();
      })
    ));
  }
}
