/** Certificates for test servers, made with the project's own x509.ts. */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { createCertificateAuthority, issueServingCertificate } from '../../../../src/programs/webhook/x509';

/** The name the harness connects as: what the API server uses for a Service-backed webhook. */
export const SERVICE_DNS = 'cdk8s-shm-webhook.cdk8s-shm.svc';

export interface TestTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export function makeTls(commonName = 'test'): TestTls {
  const ca = createCertificateAuthority({ commonName: `${commonName}-ca`, validityMs: 24 * 3600 * 1000 });
  const serving = issueServingCertificate(ca, {
    commonName: SERVICE_DNS,
    dnsNames: [SERVICE_DNS, 'localhost'],
    ipAddresses: ['127.0.0.1'],
    validityMs: 3600 * 1000,
  });
  return { caPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem };
}

/** Writes a certificate and key into a new temporary directory. */
export function writeTlsFiles(tls: TestTls, dir = mkdtempSync(path.join(tmpdir(), 'cdk8s-shm-tls-'))): { dir: string; certFile: string; keyFile: string } {
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  writeFileSync(certFile, tls.certPem);
  writeFileSync(keyFile, tls.keyPem);
  return { dir, certFile, keyFile };
}
