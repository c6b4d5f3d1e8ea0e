// The server's flag values that need more than a number: seconds that must be more than none, the
// web port, the TLS file pair, and files read at start, whose problems become one line and exit 1.
import { seconds, StartupError, UsageError } from "../cli.ts";
import { formatAddress } from "../runtime.ts";
import { FlagFileProblem } from "./moderation_flags.ts";
import { CertificateProblem, readCredentials } from "./tls_certificates.ts";

export function positiveSeconds(text: string, what: string): number {
  const ms = seconds(text, what);
  if (ms === 0) throw new UsageError(`${what} must be more than 0 seconds`);
  return ms;
}

export function webPort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new UsageError(
      `--http-port must be a whole number from 0 to 65535 or off, not "${text}"`,
    );
  }
  return Number(text);
}

// The address to open in a browser: a wildcard host is reachable here as localhost.
export function webUrl(host: string, port: number, secure: boolean): string {
  const local = host === "0.0.0.0" || host === "::" ? "localhost" : host;
  return `${secure ? "https" : "http"}://${formatAddress(local, port)}/`;
}

/** --tls-cert and --tls-key, which go together, or null for no TLS. */
export function certificateFiles(
  cert?: string,
  key?: string,
): { cert: string; key: string } | null {
  if (cert === undefined && key === undefined) return null;
  if (cert === undefined) throw new UsageError("--tls-key needs --tls-cert");
  if (key === undefined) throw new UsageError("--tls-cert needs --tls-key");
  return { cert, key };
}

export function flagFiles<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw error instanceof FlagFileProblem ? new StartupError(error.message) : error;
  }
}

export function credentialsOrExplain(files: { cert: string; key: string }) {
  try {
    return readCredentials(files);
  } catch (error) {
    throw error instanceof CertificateProblem ? new StartupError(error.message) : error;
  }
}
