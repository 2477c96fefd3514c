/**
 * The DER encoder against known encodings, and the certificates it issues against three
 * independent readers: Node's X509Certificate, the openssl command line, and a real TLS handshake.
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
import { createCertificateAuthority, der, ipBytes, issueServingCertificate, readChildren, readDer, splitPemCertificates } from '../../../src/programs/webhook/x509';

const hex = (buffer: Buffer) => buffer.toString('hex');
const HOUR = 3600_000;

describe('DER encoding', () => {
  test.each([
    ['INTEGER 0', der.unsignedInteger(0n), '020100'],
    ['INTEGER 127', der.unsignedInteger(127n), '02017f'],
    ['INTEGER 128 gets a leading zero', der.unsignedInteger(128n), '02020080'],
    ['INTEGER 256', der.unsignedInteger(256n), '02020100'],
    ['INTEGER from bytes drops leading zeros', der.unsignedInteger(Buffer.from([0, 0, 1])), '020101'],
    ['OID rsaEncryption', der.oid('1.2.840.113549.1.1.1'), '06092a864886f70d010101'],
    ['OID ecdsa-with-SHA256', der.oid('1.2.840.10045.4.3.2'), '06082a8648ce3d040302'],
    ['OID commonName', der.oid('2.5.4.3'), '0603550403'],
    ['BOOLEAN true', der.boolean(true), '0101ff'],
    ['UTF8String', der.utf8('hi'), '0c026869'],
    ['OID 2.999.3 (X.690 8.19.5: the first two arcs share one subidentifier)', der.oid('2.999.3'), '0603883703'],
    ['empty SEQUENCE', der.sequence(), '3000'],
    ['KeyUsage digitalSignature', der.namedBits([0]), '03020780'],
    ['KeyUsage digitalSignature, keyCertSign, cRLSign', der.namedBits([0, 5, 6]), '03020186'],
    ['KeyUsage decipherOnly (bit 8)', der.namedBits([0, 8]), '0303078080'],
    ['UTCTime until 2049', der.time(new Date('2049-12-31T23:59:59.999Z')), `170d${hex(Buffer.from('491231235959Z'))}`],
    ['GeneralizedTime from 2050', der.time(new Date('2050-01-01T00:00:00Z')), `180f${hex(Buffer.from('20500101000000Z'))}`],
    ['[0] EXPLICIT', der.explicit(0, der.unsignedInteger(2n)), 'a003020102'],
    ['[2] IMPLICIT dNSName', der.implicitPrimitive(2, Buffer.from('a')), '820161'],
  ])('%s', (_, encoded, expected) => {
    expect(hex(encoded)).toBe(expected);
  });

  test('lengths: short form below 128, long form above', () => {
    expect(hex(der.octetString(Buffer.alloc(127))).slice(0, 4)).toBe('047f');
    expect(hex(der.octetString(Buffer.alloc(128))).slice(0, 6)).toBe('048180');
    expect(hex(der.octetString(Buffer.alloc(300))).slice(0, 8)).toBe('0482012c');
    expect(hex(der.octetString(Buffer.alloc(70000))).slice(0, 10)).toBe('0483011170');
  });

  test('SET OF is sorted by encoding', () => {
    expect(hex(der.set(der.unsignedInteger(2n), der.unsignedInteger(1n)))).toBe('3106020101020102');
  });

  test('the reader reads back what the writer wrote', () => {
    const encoded = der.sequence(der.unsignedInteger(300n), der.octetString(Buffer.alloc(200, 7)), der.sequence());
    const children = readChildren(readDer(encoded));
    expect(children.map(c => c.tag)).toEqual([0x02, 0x04, 0x30]);
    expect(children[1].content).toEqual(Buffer.alloc(200, 7));
    expect(() => readDer(encoded.subarray(0, 10))).toThrow('DER is truncated');
  });

  test.each([
    ['1', 'two or more decimal arcs'],
    ['', 'two or more decimal arcs'],
    ['1.2.', 'two or more decimal arcs'],
    ['1..2', 'two or more decimal arcs'],
    ['0x1.2', 'two or more decimal arcs'],
    [' 1.2', 'two or more decimal arcs'],
    ['1.02', 'two or more decimal arcs'],
    ['1.-2', 'two or more decimal arcs'],
    ['3.1', 'must start with 0, 1 or 2'],
    ['1.40', 'a second arc below 40'],
    ['0.40.1', 'a second arc below 40'],
  ])('OID %j is refused: %s', (dotted, message) => {
    expect(() => der.oid(dotted)).toThrow(message);
  });
});

describe('DER reading refuses what is not DER, and always ends', () => {
  test.each([
    ['a long-form length cut off after its count', '048201', 'DER is truncated'],
    ['a long-form length cut off inside', '0482', 'DER is truncated'],
    ['content shorter than its length', '040301', 'DER is truncated'],
    ['one byte', '30', 'DER is truncated'],
    ['an indefinite length', '3080', 'indefinite'],
    ['a five-octet length', '04850000000001', 'too long'],
    ['a long form for a short length', '0481050000000000', 'not minimal'],
    ['a leading zero length octet', `04820080${'00'.repeat(128)}`, 'not minimal'],
    ['a multi-byte tag', '1f8101', 'tags above 30'],
  ])('%s', (_label, hexBytes, message) => {
    expect(() => readDer(Buffer.from(hexBytes, 'hex'))).toThrow(message);
  });

  test('children whose last header is cut off throw instead of looping', () => {
    // A SEQUENCE of 3 content bytes: an INTEGER, then a long-form length with no length octets.
    expect(() => readChildren(readDer(Buffer.from('3005020100048201', 'hex')))).toThrow('DER is truncated');
    expect(() => readChildren(readDer(Buffer.from('3003048201', 'hex')))).toThrow('DER is truncated');
  });

  test('fuzz: any bytes are read or refused, never looped on, never read past the end', () => {
    const walk = (buffer: Buffer, depth: number): number => {
      const element = readDer(buffer);
      expect(element.raw.length).toBeGreaterThanOrEqual(2);
      expect(element.raw.length).toBeLessThanOrEqual(buffer.length);
      expect(element.content.length).toBeLessThanOrEqual(element.raw.length - 2);
      // Constructed universal elements (SEQUENCE, SET: tags 0x20 to 0x3f) hold children; walk them as a certificate reader would.
      if (element.tag < 0x20 || element.tag >= 0x40 || depth >= 20) return 1;
      return 1 + readChildren(element).reduce((n, child) => n + walk(child.raw, depth + 1), 0);
    };
    let read = 0;
    let refused = 0;
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), bytes => {
      try {
        walk(Buffer.from(bytes), 0);
        read++;
      } catch (error) {
        expect((error as Error).message).toMatch(/^DER /);
        refused++;
      }
    }), { seed: 14, numRuns: 20_000 });
    expect(read).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  test('fuzz: whatever the writer writes, the reader reads back exactly', () => {
    const leaf = fc.oneof(
      fc.bigUintN(200).map(n => der.unsignedInteger(n)),
      fc.uint8Array({ maxLength: 300 }).map(b => der.octetString(Buffer.from(b))),
      fc.string({ maxLength: 200 }).map(t => der.utf8(t)),
      fc.boolean().map(b => der.boolean(b)),
      fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.bigUintN(64), { maxLength: 5 }))
        .map(([a, b, rest]) => der.oid([a, b, ...rest].join('.'))),
    );
    const tree = fc.letrec(tie => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('node'), { maxLength: 4 }).map(items => der.sequence(...(items as Buffer[])))),
    })).node as fc.Arbitrary<Buffer>;
    const reencode = (element: ReturnType<typeof readDer>): Buffer =>
      element.tag === 0x30 ? der.sequence(...readChildren(element).map(reencode)) : der.tlv(element.tag, element.content);
    fc.assert(fc.property(tree, encoded => {
      const element = readDer(encoded);
      expect(element.raw).toEqual(encoded);
      expect(reencode(element)).toEqual(encoded);
    }), { seed: 14, numRuns: 2_000 });
  });
});

describe('IP addresses in certificates', () => {
  test.each([
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
  ])('%s', (ip, expected) => {
    expect(ipBytes(ip).toString('hex')).toBe(expected);
  });

  test.each(['fe80::1%eth0', '1.2.3', 'web', '::ffff:1.2.3.4.5'])('%s is refused', ip => {
    expect(() => ipBytes(ip)).toThrow('is not an IP address a certificate can hold');
  });

  test('fuzz: OpenSSL finds every IPv4 and IPv6 address, in every spelling, in the certificate issued for it', () => {
    const ca = createCertificateAuthority({ commonName: 'ip-ca', validityMs: HOUR });
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
