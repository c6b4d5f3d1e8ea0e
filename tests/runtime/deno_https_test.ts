// HTTPS on Deno as node:tls in front of a plain Deno.serve on the loopback (runtime/deno_https.ts),
// over real sockets: the handler hears the TLS peer's own address, the loopback server answers
// nobody else, and a renewal reaches new handshakes while a connection made before goes on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { serveHttpsInFront } from "../../runtime/deno_https.ts";
import { connectLoopback, denoRuntime } from "../../runtime/deno.ts";
import { readCredentials } from "../../server/tls_certificates.ts";
import { TestCertificates } from "../e2e/_certs.ts";
import { within } from "../e2e/_helpers.ts";

/** An HTTP/1.1 client over one TLS connection that trusts `ca`, asking GET / as often as told. */
class KeptConnection {
  readonly socket: tls.TLSSocket;
  #received = "";

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => this.#received += chunk);
  }

  static async open(port: number, ca: string): Promise<KeptConnection> {
    const socket = tls.connect({ port, host: "127.0.0.1", ca });
    await within(once(socket, "secureConnect"), "the TLS handshake");
    return new KeptConnection(socket);
  }

  /** The body of the answer to GET / (the handler's answers are short and have a length). */
  async get(): Promise<string> {
    this.#received = "";
    this.socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const answered = async () => {
      while (true) {
        const match = /\r\ncontent-length: (\d+)\r\n(?:.*\r\n)*?\r\n/i.exec(this.#received);
        if (match) {
          const body = this.#received.slice(match.index + match[0].length);
          if (body.length >= Number(match[1])) return body;
        }
        await once(this.socket, "data");
      }
    };
    return await within(answered(), "the answer to GET /");
  }

  get fingerprint(): string {
    return this.socket.getPeerX509Certificate()!.fingerprint256;
  }

  close(): void {
    this.socket.destroy();
  }
}

test("serveHttpsInFront tells each request's TLS peer, answers no one else, and renews", async () => {
  using certs = await TestCertificates.make();
  const ca = readFileSync(certs.caFile, "utf8");
  const server = await serveHttpsInFront(
    "127.0.0.1",
    0,
    readCredentials({ cert: certs.certFile, key: certs.keyFile }),
    {
      listenTls: denoRuntime.listenTls,
      connectLoopback,
      handler: (peerOf) => (_request, info) => {
        const peer = peerOf(info.remoteAddr.port)!;
        return new Response(`${peer.hostname}:${peer.port}`);
      },
    },
  );
  try {
    const first = await KeptConnection.open(server.port, ca);
    assert.equal(await first.get(), `127.0.0.1:${first.socket.localPort}`);

    const direct = await fetch(`http://127.0.0.1:${server.innerPort}/`);
    assert.equal(direct.status, 403);
    await direct.body?.cancel();

    const before = first.fingerprint;
    await certs.renew();
    await server.renew(readCredentials({ cert: certs.certFile, key: certs.keyFile }));
    const second = await KeptConnection.open(server.port, ca);
    assert.equal(second.fingerprint, certs.fingerprint());
    assert.notEqual(second.fingerprint, before);
    assert.equal(await second.get(), `127.0.0.1:${second.socket.localPort}`);
    assert.equal(await first.get(), `127.0.0.1:${first.socket.localPort}`, "the old one goes on");
    first.close();
    second.close();
  } finally {
    server.close();
  }
});
