/**
 * The certificates the webhook issues against four independent readers: Node's X509Certificate,
 * the openssl command line, a real TLS handshake, and a strict DER reader (support/der.ts) for
 * what those accept but Go's crypto/x509, which the API server trusts them with, would refuse.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import { once } from 'events';
import { mkdtempSync, writeFileSync } from 'fs';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import * as tls from 'tls';
import fc from 'fast-check';
import { derProblems, extensionValue, readChildren, readDer, tbsFields } from './support/der';
import { createCertificateAuthority, issueServingCertificate, splitPemCertificates } from '../../../src/programs/webhook/x509';

const hex = (buffer: Buffer) => buffer.toString('hex');
const HOUR = 3600_000;
const derOf = (pem: string) => new crypto.X509Certificate(pem).raw;
/** The contents of the OIDs of the extensions these tests look into. */
const EXTENSION = { keyUsage: '551d0f', basicConstraints: '551d13', subjectAltName: '551d11' } as const;

describe('the DER of issued certificates', () => {
  const ca = createCertificateAuthority({ commonName: 'der-ca', validityMs: 24 * HOUR });
  // Enough names that the SAN extension and the certificate need two-octet lengths.
  const dnsNames = Array.from({ length: 12 }, (_, i) => `service-${i}.namespace-with-a-long-name.svc.cluster.local`);
  const serving = issueServingCertificate(ca, { commonName: 'web.ns.svc', dnsNames, ipAddresses: ['127.0.0.1', '2001:db8::1'], validityMs: HOUR });

  test('every length is minimal, every INTEGER minimal, every BOOLEAN TRUE, in both certificates and every extension value', () => {
    expect(derProblems(derOf(ca.certPem))).toEqual([]);
    expect(derProblems(derOf(serving.certPem))).toEqual([]);
    // The long form was exercised: the certificate's own length takes two octets.
    expect(hex(derOf(serving.certPem).subarray(0, 2))).toBe('3082');
  });

  test('the oracle refuses what is not DER', () => {
    // A certificate-shaped SEQUENCE whose TBS holds a padded INTEGER and a BOOLEAN FALSE.
    expect(derProblems(Buffer.from('3009300702020001010100', 'hex'))).toEqual(['certificate/0/0: INTEGER not minimal', 'certificate/0/1: BOOLEAN 00']);
  });

  test.each([
    ['a long-form length cut off after its count', '048201', 'DER is truncated'],
    ['content shorter than its length', '040301', 'DER is truncated'],
    ['an indefinite length', '3080', 'indefinite'],
    ['a long form for a short length', '0481050000000000', 'not minimal'],
    ['a leading zero length octet', `04820080${'00'.repeat(128)}`, 'not minimal'],
  ])('the oracle refuses %s', (_label, hexBytes, message) => {
    expect(() => readDer(Buffer.from(hexBytes, 'hex'))).toThrow(message);
  });

  test('the issuer is the CA subject byte for byte (Go finds an issuer by those bytes)', () => {
    expect(tbsFields(derOf(serving.certPem)).issuer.raw).toEqual(tbsFields(derOf(ca.certPem)).subject.raw);
    // O=cdk8s-shm, CN=der-ca as UTF8Strings, one attribute a set.
    const [organization, commonName] = ['cdk8s-shm', 'der-ca'].map(text => hex(Buffer.from(text)));
    expect(hex(tbsFields(derOf(ca.certPem)).subject.raw)).toBe(`3025 3112 3010 0603 55040a 0c09 ${organization} 310f 300d 0603 550403 0c06 ${commonName}`.replace(/ /g, ''));
  });

  test('version 3, a positive serial of 16 octets, ecdsa-with-SHA256 without parameters', () => {
    const fields = tbsFields(derOf(serving.certPem));
    expect(hex(fields.version.raw)).toBe('a003020102');
    expect(fields.serial.content.length).toBe(16);
    expect(fields.serial.content[0]).toBeLessThan(0x80);
    expect(hex(fields.signature.raw)).toBe('300a06082a8648ce3d040302');
  });

  test('KeyUsage and BasicConstraints as DER writes them: named bits without trailing zeros, CA:FALSE left out', () => {
    expect(hex(extensionValue(derOf(ca.certPem), EXTENSION.keyUsage)!)).toBe('03020186'); // digitalSignature, keyCertSign, cRLSign
    expect(hex(extensionValue(derOf(serving.certPem), EXTENSION.keyUsage)!)).toBe('03020780'); // digitalSignature
    expect(hex(extensionValue(derOf(ca.certPem), EXTENSION.basicConstraints)!)).toBe('30060101ff020100');
    expect(hex(extensionValue(derOf(serving.certPem), EXTENSION.basicConstraints)!)).toBe('3000');
  });

  test('UTCTime through 2049, GeneralizedTime from 2050, to the second', () => {
    const straddling = createCertificateAuthority({ commonName: 'y2050', validityMs: 2 * HOUR, now: new Date('2049-12-31T23:00:00.750Z') });
    const [notBefore, notAfter] = readChildren(tbsFields(derOf(straddling.certPem)).validity);
    expect([notBefore.tag, notBefore.content.toString('latin1')]).toEqual([0x17, '491231225500Z']);
    expect([notAfter.tag, notAfter.content.toString('latin1')]).toEqual([0x18, '20500101010000Z']);
    expect(() => createCertificateAuthority({ commonName: 'x', validityMs: HOUR, now: new Date('1949-12-31T12:00:00Z') })).toThrow('cannot be written in a certificate');
  });

  test('OpenSSL reads every OID as the one meant', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cdk8s-shm-oids-')), 'tls.crt');
    writeFileSync(file, serving.certPem);
    const objects = execFileSync('openssl', ['asn1parse', '-in', file], { encoding: 'utf8' }).split('\n')
      .filter(line => line.includes('OBJECT')).map(line => line.replace(/^.*OBJECT\s+:/, '').trim());
    expect(objects).toEqual([
      'ecdsa-with-SHA256', 'organizationName', 'commonName', 'organizationName', 'commonName', 'id-ecPublicKey', 'prime256v1',
      'X509v3 Basic Constraints', 'X509v3 Key Usage', 'X509v3 Extended Key Usage', 'X509v3 Subject Alternative Name',
      'X509v3 Subject Key Identifier', 'X509v3 Authority Key Identifier', 'ecdsa-with-SHA256',
    ]);
  });
});

describe('IP addresses in certificates', () => {
  const table: Array<[string, string]> = [
    ['127.0.0.1', '7f000001'],
    ['::ffff:127.0.0.1', `${'00'.repeat(10)}ffff7f000001`],
    ['::1.2.3.4', `${'00'.repeat(12)}01020304`],
    ['64:ff9b::192.0.2.33', `0064ff9b${'00'.repeat(8)}c0000221`],
    ['::', '00'.repeat(16)],
    ['::1', `${'00'.repeat(15)}01`],
    ['1::', `0001${'00'.repeat(14)}`],
    ['2001:db8::1', `20010db8${'00'.repeat(11)}01`],
    ['2001:DB8:0:0:0:0:0:1', `20010db8${'00'.repeat(11)}01`],
    ['fe80:1:2:3:4:5:6:7', 'fe80000100020003000400050006000' + '7'],
  ];
  const ca = createCertificateAuthority({ commonName: 'ip-ca', validityMs: HOUR });

  test('every spelling gets its own octets in the iPAddress SAN, dotted IPv4 inside IPv6 too', () => {
    const cert = issueServingCertificate(ca, { commonName: 'ips', dnsNames: [], ipAddresses: table.map(([ip]) => ip), validityMs: HOUR });
    const names = readChildren(readDer(extensionValue(derOf(cert.certPem), EXTENSION.subjectAltName)!));
    expect(names.every(name => name.tag === 0x87)).toBe(true);
    expect(names.map(name => hex(name.content))).toEqual(table.map(([, octets]) => octets));
  });

  test.each(['fe80::1%eth0', '1.2.3', 'web', '::ffff:1.2.3.4.5'])('%s is refused', ip => {
    expect(() => issueServingCertificate(ca, { commonName: 'x', dnsNames: ['x'], ipAddresses: [ip], validityMs: HOUR }))
      .toThrow('is not an IP address a certificate can hold');
  });

  test('fuzz: OpenSSL finds every IPv4 and IPv6 address, in every spelling, in the certificate issued for it', () => {
    const ips = fc.sample(fc.oneof(fc.ipV4(), fc.ipV6()), { seed: 14, numRuns: 300 });
    const cert = new crypto.X509Certificate(issueServingCertificate(ca, { commonName: 'ips', dnsNames: ['ips'], ipAddresses: ips, validityMs: HOUR }).certPem);
    // checkIP is OpenSSL's own reading of the address, compared with the SAN's octets.
    expect(ips.filter(ip => cert.checkIP(ip) === undefined)).toEqual([]);
    expect(cert.checkIP('192.0.2.254') ?? cert.checkIP('2001:db8::ffff:fffe')).toBeUndefined();
  });
});

describe('issued certificates', () => {
  const now = new Date();
  const ca = createCertificateAuthority({ commonName: 'cdk8s-shm-ca', validityMs: 10 * 24 * HOUR, now });
  const serving = issueServingCertificate(ca, {
    commonName: 'web.ns.svc',
    dnsNames: ['web', 'web.ns', 'web.ns.svc', 'web.ns.svc.cluster.local'],
    ipAddresses: ['127.0.0.1', '2001:db8::1'],
    validityMs: 24 * HOUR,
    now,
  });
  const otherCa = createCertificateAuthority({ commonName: 'someone-else', validityMs: 24 * HOUR });
  const dir = mkdtempSync(path.join(tmpdir(), 'cdk8s-shm-x509-'));
  const file = (name: string, content: string) => {
    writeFileSync(path.join(dir, name), content);
    return path.join(dir, name);
  };
  const caFile = file('ca.crt', ca.certPem);
  const servingFile = file('tls.crt', serving.certPem);
  const otherCaFile = file('other.crt', otherCa.certPem);

  test('Node reads the CA as a CA, self-signed', () => {
    const cert = new crypto.X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('O=cdk8s-shm\nCN=cdk8s-shm-ca');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.checkPrivateKey(crypto.createPrivateKey(ca.keyPem))).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
  });

  test('Node reads the serving certificate: signed by the CA, not a CA, the right names and validity', () => {
    const caCert = new crypto.X509Certificate(ca.certPem);
    const cert = new crypto.X509Certificate(serving.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.verify(new crypto.X509Certificate(otherCa.certPem).publicKey)).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.issuer).toBe(caCert.subject);
    for (const name of ['web', 'web.ns', 'web.ns.svc', 'web.ns.svc.cluster.local']) expect(cert.checkHost(name, { subject: 'never' })).toBe(name);
    expect(cert.checkHost('other.ns.svc')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('2001:db8::1')).toBe('2001:db8::1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // Node reports the extended key usage here
    expect(cert.checkPrivateKey(crypto.createPrivateKey(serving.keyPem))).toBe(true);
    // Backdated for clock skew, and valid for the time asked.
    expect(Date.parse(cert.validFrom)).toBeLessThan(now.getTime());
    expect(Date.parse(cert.validTo)).toBe(Math.floor((now.getTime() + 24 * HOUR) / 1000) * 1000);
    expect(serving.notAfter.getTime()).toBe(Date.parse(cert.validTo));
  });

  test('openssl reads both and prints the extensions we meant', () => {
    const caText = execFileSync('openssl', ['x509', '-noout', '-text', '-in', caFile], { encoding: 'utf8' });
    expect(caText).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(caText).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(caText).toContain('ecdsa-with-SHA256');
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', servingFile], { encoding: 'utf8' });
    expect(text).toContain('Version: 3 (0x2)');
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication/);
    expect(text).toContain('DNS:web, DNS:web.ns, DNS:web.ns.svc, DNS:web.ns.svc.cluster.local, IP Address:127.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1');
    expect(text).toContain('Authority Key Identifier');
    expect(text).toContain('NIST CURVE: P-256');
  });

  test('openssl verify accepts the chain for a TLS server and rejects another CA', () => {
    const ok = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-x509_strict', '-CAfile', caFile, servingFile], { encoding: 'utf8' });
    expect(ok.stdout.trim()).toBe(`${servingFile}: OK`);
    expect(ok.status).toBe(0);
    const bad = spawnSync('openssl', ['verify', '-CAfile', otherCaFile, servingFile], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain('unable to get local issuer certificate');
  });

  test('openssl parses the DER strictly (asn1parse on the whole certificate)', () => {
    const out = execFileSync('openssl', ['asn1parse', '-in', servingFile], { encoding: 'utf8' });
    expect(out).toContain('prime256v1');
    expect(out).not.toMatch(/error/i);
  });

  test('a real TLS handshake: trusted with the CA, refused without it or under another name', async () => {
    const server = tls.createServer({ cert: serving.certPem, key: serving.keyPem, minVersion: 'TLSv1.2' }, socket => socket.end('hello'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const connect = (options: tls.ConnectionOptions) => new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
        socket.once('data', data => {
          resolve(data.toString());
          socket.end();
        });
      });
      socket.on('error', reject);
    });
    try {
      await expect(connect({ ca: ca.certPem, servername: 'web.ns.svc' })).resolves.toBe('hello');
      await expect(connect({ ca: otherCa.certPem, servername: 'web.ns.svc' })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      await expect(connect({ servername: 'web.ns.svc' })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      await expect(connect({ ca: ca.certPem, servername: 'evil.ns.svc' })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      server.close();
    }
  });

  test('every certificate gets a fresh key and a positive serial of 16 bytes', () => {
    const a = new crypto.X509Certificate(issueServingCertificate(ca, { commonName: 'a', dnsNames: ['a'], validityMs: HOUR }).certPem);
    const b = new crypto.X509Certificate(issueServingCertificate(ca, { commonName: 'a', dnsNames: ['a'], validityMs: HOUR }).certPem);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.publicKey.export({ type: 'spki', format: 'der' })).not.toEqual(b.publicKey.export({ type: 'spki', format: 'der' }));
    expect(a.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
  });

  test('certificates past 2049 use GeneralizedTime and still verify', () => {
    const longCa = createCertificateAuthority({ commonName: 'long', validityMs: 40 * 365 * 24 * HOUR, now: new Date('2030-01-01T00:00:00Z') });
    const cert = new crypto.X509Certificate(longCa.certPem);
    expect(cert.validTo).toBe('Dec 22 00:00:00 2069 GMT');
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  test('refuses what would make a broken certificate', () => {
    expect(() => issueServingCertificate(ca, { commonName: 'x', dnsNames: [], validityMs: HOUR })).toThrow('at least one DNS name or IP address');
    expect(() => issueServingCertificate({ certPem: ca.certPem, keyPem: otherCa.keyPem }, { commonName: 'x', dnsNames: ['x'], validityMs: HOUR }))
      .toThrow('the CA key does not match the CA certificate');
    expect(() => createCertificateAuthority({ commonName: 'x', validityMs: 0 })).toThrow('validity must be positive');
  });

  test('splitPemCertificates splits a bundle in order', () => {
    expect(splitPemCertificates(`${ca.certPem}${otherCa.certPem}`)).toEqual([ca.certPem, otherCa.certPem]);
    expect(splitPemCertificates('junk')).toEqual([]);
  });
});
