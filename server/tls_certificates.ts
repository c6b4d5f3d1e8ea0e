// The server's certificate and key for TLS: read from their files and checked to make a pair, then
// read again whenever the files change, so that a renewed certificate (Let's Encrypt's, every 60
// days or so) is served without a restart.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { systemProblem, type TlsCredentials } from "../runtime.ts";

// Renewal tools write the new files at some moment of their own; a look every few seconds notices
// soon enough, and costs two stat calls.
export const CERTIFICATE_POLL_MS = 2000;

/** The files cannot be used: the message names the file and says why, on one line. */
export class CertificateProblem extends Error {}

export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new CertificateProblem(`cannot read ${flag} ${file}: ${systemProblem(error)}`);
  }
}

/**
 * The certificate and key in `files`, checked here rather than by the TLS library: Deno's node:tls
 * takes any bytes at all and fails only at the first handshake, and Bun's words for the same faults
 * are OpenSSL's.
 */
export function readCredentials(files: CertificateFiles): TlsCredentials {
  const cert = readPem(files.cert, "--tls-cert");
  const key = readPem(files.key, "--tls-key");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new CertificateProblem(`--tls-cert ${files.cert} holds no PEM certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new CertificateProblem(`--tls-key ${files.key} holds no PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new CertificateProblem(
      `--tls-key ${files.key} is not the key of the certificate in --tls-cert ${files.cert}`,
    );
  }
  return { cert, key };
}

// What tells that a file has changed: a renewal may replace it (a new inode, as certbot's
// symlinks do) or rewrite it in place (a new mtime or size).
function signature(files: CertificateFiles): string {
  return [files.cert, files.key].map((file) => {
    try {
      const { ino, mtimeMs, size } = statSync(file);
      return `${ino}:${mtimeMs}:${size}`;
    } catch {
      return "missing";
    }
  }).join("|");
}

/**
 * Looks at `files` every `pollMs`, and hands `renew` the new credentials once they change and make
 * a pair again; once what `renew` returns has settled, says so. Files caught halfway (a new
 * certificate beside the old key) are logged and tried again when they next change; the
 * credentials in use stay meanwhile. Returns a stop function.
 */
export function watchCredentials(
  files: CertificateFiles,
  renew: (credentials: TlsCredentials) => void | Promise<void>,
  log: (line: string) => void,
  pollMs = CERTIFICATE_POLL_MS,
): () => void {
  let seen = signature(files);
  const timer = setInterval(() => {
    const now = signature(files);
    if (now === seen) return;
    seen = now;
    let credentials: TlsCredentials;
    try {
      credentials = readCredentials(files);
    } catch (error) {
      const why = error instanceof CertificateProblem ? error.message : systemProblem(error);
      return log(`tls: kept the certificate in use: ${why}`);
    }
    Promise.resolve(renew(credentials)).then(() => {
      log(`tls: certificate renewed from ${files.cert}`);
    });
  }, pollMs);
  // The watch never keeps the server alive by itself.
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
