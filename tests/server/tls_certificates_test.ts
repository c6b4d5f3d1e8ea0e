// The server's certificate files: read and checked to make a pair, and watched for renewals that
// may arrive a file at a time. Certificates come from openssl, made at test time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { TestCertificates } from "../e2e/_certs.ts";
import { Inbox, within } from "../e2e/_helpers.ts";
import {
  CertificateProblem,
  readCredentials,
  watchCredentials,
} from "../../server/tls_certificates.ts";
import type { TlsCredentials } from "../../runtime.ts";

const POLL_MS = 20;

test("readCredentials returns the PEM text of a certificate and its key", async () => {
  using certs = await TestCertificates.make();
  const credentials = readCredentials({ cert: certs.certFile, key: certs.keyFile });
  assert.equal(credentials.cert, readFileSync(certs.certFile, "utf8"));
  assert.equal(credentials.key, readFileSync(certs.keyFile, "utf8"));
});

test("readCredentials names the file at fault and why", async () => {
  using certs = await TestCertificates.make();
  const caKey = path.join(certs.dir, "ca.key");
  assert.throws(
    () => readCredentials({ cert: certs.certFile, key: caKey }),
    new CertificateProblem(
      `--tls-key ${caKey} is not the key of the certificate in --tls-cert ${certs.certFile}`,
    ),
  );
  assert.throws(
    () => readCredentials({ cert: certs.certFile, key: certs.certFile }),
    new CertificateProblem(`--tls-key ${certs.certFile} holds no PEM private key`),
  );
});

test("watchCredentials renews once both files have changed, keeping the old pair between", async () => {
  using certs = await TestCertificates.make();
  const files = { cert: certs.certFile, key: certs.keyFile };
  const renewals = new Inbox<TlsCredentials>();
  const logs = new Inbox<string>();
  const stop = watchCredentials(files, (c) => renewals.push(c), (line) => logs.push(line), POLL_MS);
  try {
    // A renewal caught halfway: the new certificate beside the old key.
    const oldKey = `${certs.keyFile}.old`;
    copyFileSync(certs.keyFile, oldKey);
    await certs.renew();
    const newKey = `${certs.keyFile}.new`;
    renameSync(certs.keyFile, newKey);
    renameSync(oldKey, certs.keyFile);
    assert.equal(
      await logs.next("the log of the mismatch"),
      `tls: kept the certificate in use: --tls-key ${certs.keyFile} is not the key of the ` +
        `certificate in --tls-cert ${certs.certFile}`,
    );
    // Then the new key arrives.
    renameSync(newKey, certs.keyFile);
    const renewed = await renewals.next("the renewal");
    assert.deepEqual(renewed, readCredentials(files));
    assert.equal(
      await logs.next("the renewal's log"),
      `tls: certificate renewed from ${files.cert}`,
    );

    // A file that goes missing is logged; nothing is renewed.
    rmSync(certs.keyFile);
    assert.match(
      (await logs.next("the missing key's log"))!,
      /^tls: kept the certificate in use: cannot read --tls-key .*: no such file or directory$/,
    );
  } finally {
    stop();
  }
  // Nothing more came than what was asserted.
  renewals.end();
  assert.equal(await within(renewals.next("no more renewals"), "the inbox"), null);
});
