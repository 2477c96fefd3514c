/**
 * Just enough X.509 to issue the self-managed certificates: a self-signed CA and a serving
 * certificate signed by it, both ECDSA P-256 with SHA-256.
 *
 * Node's crypto makes keys and signatures but cannot build a certificate, and the server ships as
 * one file with no dependencies, so this writes the DER itself (X.690 distinguished encoding,
 * RFC 5280 profile). It also reads DER far enough to take the subject and public key back out of
 * a certificate it issued.
 */
// A DER encoder works in bits and bytes: tags, length octets, base-128 arcs, named bits.
/* eslint-disable no-bitwise */
import * as crypto from 'node:crypto';
import { isIP } from 'node:net';

// ---- DER writing (X.690) -------------------------------------------------------------------

const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** A definite length: short form below 128, else the count of big-endian length bytes first. */
function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Encodes DER values. Exported for the tests, which check each against known encodings. */
export const der = {
  tlv(tag: number, content: Buffer): Buffer {
    return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
  },
  sequence(...items: Buffer[]): Buffer {
    return der.tlv(TAG.SEQUENCE, Buffer.concat(items));
  },
  set(...items: Buffer[]): Buffer {
    // DER orders SET OF by encoding; our sets hold one element, but sort anyway to stay correct.
    return der.tlv(TAG.SET, Buffer.concat([...items].sort(Buffer.compare)));
  },
  boolean(value: boolean): Buffer {
    return der.tlv(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
  },
  /** A non-negative INTEGER: minimal bytes, with a leading zero when the top bit would read as a sign. */
  unsignedInteger(value: bigint | Buffer): Buffer {
    let bytes = typeof value === 'bigint' ? bigintBytes(value) : value;
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    bytes = bytes.subarray(start);
    if (bytes.length === 0) bytes = Buffer.from([0]);
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return der.tlv(TAG.INTEGER, bytes);
  },
  /**
   * An OBJECT IDENTIFIER from its dotted form. X.660: at least two arcs, each a decimal number
   * without leading zeros; the first is 0, 1 or 2, and under 0 and 1 the second is below 40 (the
   * first two share one subidentifier, 40 × first + second).
   */
  oid(dotted: string): Buffer {
    const text = dotted.split('.');
    if (text.length < 2 || !text.every(arc => /^(0|[1-9][0-9]*)$/.test(arc))) {
      throw new Error(`OID "${dotted}" must be two or more decimal arcs separated by dots`);
    }
    const arcs = text.map(arc => BigInt(arc));
    if (arcs[0] > 2n || (arcs[0] < 2n && arcs[1] >= 40n)) {
      throw new Error(`OID "${dotted}" must start with 0, 1 or 2, and a second arc below 40 under 0 and 1`);
    }
    const body: number[] = [];
    for (const arc of [arcs[0] * 40n + arcs[1], ...arcs.slice(2)]) {
      // Base 128, most significant group first, high bit set on all but the last.
      const groups: number[] = [];
      let n = arc;
      do {
        groups.unshift(Number(n & 0x7fn));
        n >>= 7n;
      } while (n > 0n);
      body.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
    }
    return der.tlv(TAG.OID, Buffer.from(body));
  },
  utf8(text: string): Buffer {
    return der.tlv(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));
  },
  /** A BIT STRING of whole bytes (keys, signatures). */
  bitString(bytes: Buffer, unusedBits = 0): Buffer {
    return der.tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
  },
  /** A named-bit BIT STRING (RFC 5280 KeyUsage): DER drops trailing zero bits. */
  namedBits(bits: readonly number[]): Buffer {
    if (bits.length === 0) return der.bitString(Buffer.alloc(0));
    const highest = Math.max(...bits);
    const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
    for (const bit of bits) bytes[Math.floor(bit / 8)] |= 0x80 >> (bit % 8);
    return der.bitString(bytes, 7 - (highest % 8));
  },
  octetString(bytes: Buffer): Buffer {
    return der.tlv(TAG.OCTET_STRING, bytes);
  },
  /**
   * RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in UTC to the
   * second. Fractions of a second are dropped, as DER forbids trailing zeros there.
   */
  time(date: Date): Buffer {
    const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
    const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
    const year = date.getUTCFullYear();
    if (year < 1950 || year > 9999) throw new Error(`${iso} cannot be written in a certificate`);
    return year < 2050
      ? der.tlv(TAG.UTC_TIME, Buffer.from(digits.slice(2), 'latin1'))
      : der.tlv(TAG.GENERALIZED_TIME, Buffer.from(digits, 'latin1'));
  },
  /** `[n] EXPLICIT`: a constructed context tag around a whole encoding. */
  explicit(n: number, inner: Buffer): Buffer {
    return der.tlv(0xa0 | n, inner);
  },
  /** `[n] IMPLICIT` of a primitive type: the context tag replaces the type's own. */
  implicitPrimitive(n: number, content: Buffer): Buffer {
    return der.tlv(0x80 | n, content);
  },
};

function bigintBytes(value: bigint): Buffer {
  if (value < 0n) throw new Error('negative integers are not needed here');
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

// ---- DER reading, only as far as certificates we issue need -------------------------------

/** One element read from DER: its tag, its content, and its whole encoding. */
export interface DerElement {
  readonly tag: number;
  readonly content: Buffer;
  readonly raw: Buffer;
}

/**
 * Reads the element at `offset`, as DER allows it only: a one-byte tag, and a definite length in
 * the fewest octets (short form below 128; long form with no leading zero octet, at most 4).
 * Throws on anything else and on truncated input, so a reader never loops or reads past the end.
 */
export function readDer(buffer: Buffer, offset = 0): DerElement {
  if (!Number.isInteger(offset) || offset < 0 || offset + 2 > buffer.length) throw new Error('DER is truncated');
  const tag = buffer[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error('DER tags above 30 are not used here');
  let length = buffer[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('DER length is indefinite or too long');
    if (offset + 2 + count > buffer.length) throw new Error('DER is truncated');
    if (buffer[offset + 2] === 0) throw new Error('DER length is not minimal (a leading zero octet)');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[offset + 2 + i];
    if (length < 0x80) throw new Error('DER length is not minimal (long form below 128)');
    header += count;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new Error('DER is truncated');
  return { tag, content: buffer.subarray(offset + header, end), raw: buffer.subarray(offset, end) };
}

/** The elements inside a constructed element. */
export function readChildren(element: DerElement): DerElement[] {
  const children: DerElement[] = [];
  for (let offset = 0; offset < element.content.length;) {
    const child = readDer(element.content, offset);
    children.push(child);
    offset += child.raw.length;
  }
  return children;
}

// ---- Certificates (RFC 5280) ---------------------------------------------------------------

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** KeyUsage bit numbers (RFC 5280 4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** Clocks disagree by a little; a certificate valid only from "now" fails on a node a minute behind. */
const BACKDATE_MS = 5 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface KeyAndCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A certificate we issued, with its validity for scheduling renewal. */
export interface IssuedCertificate extends KeyAndCertificate {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CertificateAuthorityOptions {
  readonly commonName: string;
  readonly validityMs: number;
  /** @default new Date() */
  readonly now?: Date;
}

export interface ServingCertificateOptions {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly validityMs: number;
  /** @default new Date() */
  readonly now?: Date;
}

/** Issues a self-signed CA: basicConstraints CA (path length 0), keyUsage keyCertSign and cRLSign. */
export function createCertificateAuthority(options: CertificateAuthorityOptions): IssuedCertificate {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = distinguishedName(options.commonName);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = keyIdentifier(spki);
  const extensions = [
    extension(OID.basicConstraints, true, der.sequence(der.boolean(true), der.unsignedInteger(0n))),
    extension(OID.keyUsage, true, der.namedBits([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyId)),
  ];
  return sign({ issuer: name, subject: name, spki, extensions, signingKey: privateKey, privateKey, ...validity(options) });
}

/** Issues a serving certificate signed by `ca`: SANs, extKeyUsage serverAuth, not a CA. */
export function issueServingCertificate(ca: KeyAndCertificate, options: ServingCertificateOptions): IssuedCertificate {
  if (options.dnsNames.length === 0 && (options.ipAddresses ?? []).length === 0) {
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  }
  const caKey = crypto.createPrivateKey(ca.keyPem);
  const caCert = new crypto.X509Certificate(ca.certPem);
  if (!caCert.checkPrivateKey(caKey)) throw new Error('the CA key does not match the CA certificate');
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const names = [
    ...options.dnsNames.map(dns => der.implicitPrimitive(2, Buffer.from(dns, 'latin1'))),
    ...(options.ipAddresses ?? []).map(ip => der.implicitPrimitive(7, ipBytes(ip))),
  ];
  const extensions = [
    extension(OID.basicConstraints, true, der.sequence()),
    extension(OID.keyUsage, true, der.namedBits([KEY_USAGE.digitalSignature])),
    extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth))),
    extension(OID.subjectAltName, false, der.sequence(...names)),
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(spki))),
    extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicitPrimitive(0, keyIdentifier(caCert.publicKey.export({ type: 'spki', format: 'der' }))))),
  ];
  return sign({
    issuer: subjectOf(caCert),
    subject: distinguishedName(options.commonName),
    spki,
    extensions,
    signingKey: caKey,
    privateKey,
    ...validity(options),
  });
}

/** Splits a PEM bundle into its certificates, in order. */
export function splitPemCertificates(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map(pem => `${pem}\n`) ?? [];
}

function validity(options: { validityMs: number; now?: Date }): { notBefore: Date; notAfter: Date } {
  const now = options.now ?? new Date();
  if (!(options.validityMs > 0)) throw new Error(`validity must be positive, got ${options.validityMs} ms`);
  // Whole seconds: that is all a certificate can say.
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  return { notBefore: second(now.getTime() - BACKDATE_MS), notAfter: second(now.getTime() + options.validityMs) };
}

interface TbsInput {
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly spki: Buffer;
  readonly extensions: Buffer[];
  readonly signingKey: crypto.KeyObject;
  readonly privateKey: crypto.KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function sign(input: TbsInput): IssuedCertificate {
  // 16 random bytes, top bit clear: positive, unique, and within RFC 5280's 20-octet limit.
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const algorithm = der.sequence(der.oid(OID.ecdsaWithSHA256));
  const tbs = der.sequence(
    der.explicit(0, der.unsignedInteger(2n)), // v3
    der.unsignedInteger(serial),
    algorithm,
    input.issuer,
    der.sequence(der.time(input.notBefore), der.time(input.notAfter)),
    input.subject,
    input.spki,
    der.explicit(3, der.sequence(...input.extensions)),
  );
  // Node signs ECDSA as a DER Ecdsa-Sig-Value, which is what the BIT STRING holds.
  const signature = crypto.sign('sha256', tbs, { key: input.signingKey, dsaEncoding: 'der' });
  const certificate = der.sequence(tbs, algorithm, der.bitString(signature));
  return {
    certPem: toPem('CERTIFICATE', certificate),
    keyPem: input.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    notBefore: input.notBefore,
    notAfter: input.notAfter,
  };
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  // DEFAULT FALSE must be left out in DER, not written as false.
  return critical
    ? der.sequence(der.oid(oid), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(oid), der.octetString(value));
}

function distinguishedName(commonName: string): Buffer {
  return der.sequence(
    der.set(der.sequence(der.oid(OID.organization), der.utf8('cdk8s-shm'))),
    der.set(der.sequence(der.oid(OID.commonName), der.utf8(commonName))),
  );
}

/** The subject exactly as the CA certificate encodes it: the issuer field must match it byte for byte. */
function subjectOf(certificate: crypto.X509Certificate): Buffer {
  const [tbs] = readChildren(readDer(certificate.raw));
  const fields = readChildren(tbs);
  const offset = fields[0].tag === 0xa0 ? 1 : 0; // version is optional
  return fields[offset + 4].raw;
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: Buffer): Buffer {
  const [, subjectPublicKey] = readChildren(readDer(spki));
  return crypto.createHash('sha1').update(subjectPublicKey.content.subarray(1)).digest();
}

/**
 * The octets of an iPAddress SAN (RFC 5280 4.2.1.6): 4 for IPv4, 16 for IPv6, where an IPv6
 * address may end in dotted IPv4 (`::ffff:127.0.0.1`) and `::` stands for the zero groups it
 * leaves out. A zone (`fe80::1%eth0`) has no place in a certificate.
 */
export function ipBytes(ip: string): Buffer {
  const version = isIP(ip);
  if (version === 4) return Buffer.from(ip.split('.').map(Number));
  if (version === 6 && !ip.includes('%')) {
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
    const groups = (part: string | undefined): number[] => (part ? part.split(':') : []).flatMap(group => {
      if (!group.includes('.')) return [parseInt(group, 16)];
      const [a, b, c, d] = group.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
    const left = groups(head);
    const right = groups(tail);
    const all = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
    return Buffer.from(all.flatMap(g => [g >> 8, g & 0xff]));
  }
  throw new Error(`${ip} is not an IP address a certificate can hold`);
}

function toPem(label: string, body: Buffer): string {
  const base64 = body.toString('base64').match(/.{1,64}/g)?.join('\n') ?? '';
  return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}
