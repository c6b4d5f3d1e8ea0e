// Certificates for the TLS tests, made at test time with `openssl` in a temporary directory: a
// private certificate authority (CA:TRUE) and a server certificate it signs (CA:FALSE, for
// 127.0.0.1 and localhost). A self-signed certificate that is also its own CA would not do: Deno's
// TLS client refuses such a certificate as a server's.
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const DAYS = "2";
const SERVER_EXTENSIONS = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature",
  "extendedKeyUsage=serverAuth",
  "subjectAltName=IP:127.0.0.1,DNS:localhost",
].join("\n");

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run("openssl", args, { cwd: dir });
}

function newKey(dir: string, file: string): Promise<void> {
  return openssl(
    dir,
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    file,
  );
}

export class TestCertificates {
  readonly dir: string;
  /** The private authority's certificate: what a client passes as --ca. */
  readonly caFile: string;
  /** The server's certificate and key: what the server takes as --tls-cert and --tls-key. */
  readonly certFile: string;
  readonly keyFile: string;
  #leaves = 0;

  private constructor(dir: string) {
    this.dir = dir;
    this.caFile = path.join(dir, "ca.pem");
    this.certFile = path.join(dir, "server.pem");
    this.keyFile = path.join(dir, "server.key");
  }

  /** A new authority and a server certificate signed by it. */
  static async make(): Promise<TestCertificates> {
    const certs = new TestCertificates(mkdtempSync(path.join(os.tmpdir(), "parley-tls-")));
    try {
      await newKey(certs.dir, "ca.key");
      await openssl(
        certs.dir,
        ...["req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", DAYS],
        ...["-subj", "/CN=Parley test CA"],
        ...["-addext", "basicConstraints=critical,CA:TRUE"],
        ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
      );
      await certs.#writeLeaf(certs.certFile, certs.keyFile);
      return certs;
    } catch (error) {
      certs.remove();
      throw error;
    }
  }

  /** The SHA-256 fingerprint of the server certificate now in certFile. */
  fingerprint(): string {
    return new X509Certificate(readFileSync(this.certFile)).fingerprint256;
  }

  /**
   * Renews the server certificate as a renewal tool would: a new key and a new certificate from
   * the same authority, each written beside its file and then moved over it (key first).
   */
  async renew(): Promise<void> {
    const cert = `${this.certFile}.new`;
    const key = `${this.keyFile}.new`;
    await this.#writeLeaf(cert, key);
    renameSync(key, this.keyFile);
    renameSync(cert, this.certFile);
  }

  async #writeLeaf(certFile: string, keyFile: string): Promise<void> {
    const n = ++this.#leaves;
    writeFileSync(path.join(this.dir, "server.ext"), `${SERVER_EXTENSIONS}\n`);
    await newKey(this.dir, keyFile);
    await openssl(
      this.dir,
      ...["req", "-new", "-key", keyFile, "-out", `server${n}.csr`, "-subj", "/CN=localhost"],
    );
    await openssl(
      this.dir,
      ...["x509", "-req", "-in", `server${n}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key"],
      ...["-set_serial", String(1000 + n), "-days", DAYS, "-extfile", "server.ext"],
      ...["-out", certFile],
    );
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  [Symbol.dispose](): void {
    this.remove();
  }
}
