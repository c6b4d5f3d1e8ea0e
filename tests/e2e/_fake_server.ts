// Servers a test plays by hand, for client tests: a FakeServer that speaks native frames as the
// test says, and a Proxy in front of a real server that the test can cut, as a network does.
import { once } from "node:events";
import net from "node:net";
import { frame } from "../_frames.ts";
import { Inbox, type Json, nativeFrames, within } from "./_helpers.ts";

/** One connection accepted by a FakeServer, speaking native frames. */
export class FakePeer {
  #messages: Inbox<Json>;

  constructor(readonly socket: net.Socket) {
    this.#messages = nativeFrames(socket);
  }

  /** The next message from the client, or null once it has closed. */
  next(what = "a message from the client"): Promise<Json | null> {
    return this.#messages.next(what);
  }

  send(message: unknown): void {
    this.socket.write(frame(message));
  }
}

/** A server the test plays by hand, to send what server.ts never would. */
export class FakeServer {
  readonly port: number;
  #listener: net.Server;
  #peers: FakePeer[] = [];
  #arrived: (() => void) | null = null;
  /** How many connections came to the proxy: a client's reconnects count. */
  connections = 0;

  private constructor(listener: net.Server) {
    this.#listener = listener;
    this.port = (listener.address() as net.AddressInfo).port;
    listener.on("connection", (socket) => {
      this.#peers.push(new FakePeer(socket));
      this.#arrived?.();
    });
  }

  static async start(): Promise<FakeServer> {
    const listener = net.createServer().listen(0, "127.0.0.1");
    await once(listener, "listening");
    return new FakeServer(listener);
  }

  async accept(): Promise<FakePeer> {
    while (this.#peers.length === 0) {
      await within(new Promise<void>((resolve) => this.#arrived = resolve), "a connection");
    }
    return this.#peers.shift()!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const peer of this.#peers) peer.socket.destroy();
    await new Promise((resolve) => this.#listener.close(resolve));
  }
}

/**
 * A TCP proxy in front of a server, which the test can cut, as a network does, and which can hold
 * the connections that arrive meanwhile until the test lets them through.
 */
export class Proxy {
  readonly port: number;
  #listener: net.Server;
  #sockets = new Set<net.Socket>();
  #held: Array<() => void> | null = null; // connections waiting, while holding
  #arrived: (() => void) | null = null;
  /** How many connections came to the proxy: a client's reconnects count. */
  connections = 0;

  private constructor(listener: net.Server, target: number) {
    this.#listener = listener;
    this.port = (listener.address() as net.AddressInfo).port;
    listener.on("connection", (client) => {
      this.connections++;
      this.#track(client);
      const through = () => {
        const server = this.#track(net.connect({ port: target, host: "127.0.0.1" }));
        client.pipe(server);
        server.pipe(client);
        client.on("close", () => server.destroy());
        server.on("close", () => client.destroy());
      };
      if (this.#held) this.#held.push(through);
      else through();
      this.#arrived?.();
    });
  }

  #track(socket: net.Socket): net.Socket {
    this.#sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.#sockets.delete(socket));
    return socket;
  }

  static async start(target: number): Promise<Proxy> {
    const listener = net.createServer().listen(0, "127.0.0.1");
    await once(listener, "listening");
    return new Proxy(listener, target);
  }

  /** Drops every connection through the proxy, and holds the ones that come next. */
  cutAndHold(): void {
    this.#held = [];
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Waits until a connection is held, then lets it and any that follow through. */
  async release(): Promise<void> {
    while (this.#held!.length === 0) {
      await within(new Promise<void>((resolve) => this.#arrived = resolve), "a new connection");
    }
    const held = this.#held!;
    this.#held = null;
    for (const through of held) through();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#listener.close(resolve));
  }
}
