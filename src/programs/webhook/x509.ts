/**
 * The self-managed certificates: a self-signed CA and a serving certificate signed by it, both
 * ECDSA P-256 with SHA-256, in the RFC 5280 profile.
 *
 * Every API server call trusts these, so no DER is written here: the certificate is built from the
 * RFC 5280 schema of `@peculiar/asn1-x509` and encoded by its DER encoder (the ASN.1 layer of
 * PeculiarVentures' PKI.js and @peculiar/x509, bundled), and Node's crypto makes the keys and the
 * signatures. It is that layer rather than @peculiar/x509 itself because it is half the size, a
 * third of the load time, and synchronous, as Node's key generation is (BENCHMARKS.md, "Libraries
 * in the programs"). What this file decides is the profile: which names, extensions and times.
 */
// The serial number's first byte is masked to keep it positive.
/* eslint-disable no-bitwise */
import * as crypto from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, AuthorityKeyIdentifier, BasicConstraints, Certificate,
  ExtendedKeyUsage, Extension, Extensions, GeneralName, KeyIdentifier, KeyUsage, KeyUsageFlags, Name, RelativeDistinguishedName,
  SubjectAlternativeName, SubjectKeyIdentifier, SubjectPublicKeyInfo, TBSCertificate, Validity, Version, id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage, id_ce_subjectAltName, id_ce_subjectKeyIdentifier, id_kp_serverAuth,
} from '@peculiar/asn1-x509';

const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
} as const;

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
  const extensions = [
    extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
    extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
    extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(spki))),
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
    ...options.dnsNames.map(dns => new GeneralName({ dNSName: dns })),
    ...(options.ipAddresses ?? []).map(ip => new GeneralName({ iPAddress: canonicalIp(ip) })),
  ];
  const caKeyId = keyIdentifier(caCert.publicKey.export({ type: 'spki', format: 'der' }));
  const extensions = [
    extension(id_ce_basicConstraints, true, new BasicConstraints()),
    extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
    extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
    extension(id_ce_subjectAltName, false, new SubjectAlternativeName(names)),
    extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(spki))),
    extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(caKeyId) })),
  ];
  return sign({
    // Go finds a certificate's issuer by comparing these bytes with the CA's subject, so the name
    // comes from the CA certificate itself, not from its text.
    issuer: AsnConvert.parse(caCert.raw, Certificate).tbsCertificate.subject,
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
  // Whole seconds: that is all a certificate can say, and DER forbids fractions of a second.
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const range = { notBefore: second(now.getTime() - BACKDATE_MS), notAfter: second(now.getTime() + options.validityMs) };
  // RFC 5280 4.1.2.5: UTCTime's two-digit years mean 1950 to 2049, GeneralizedTime's four reach 9999.
  for (const date of [range.notBefore, range.notAfter]) {
    const year = date.getUTCFullYear();
    if (!(year >= 1950 && year <= 9999)) throw new Error(`${date.toISOString()} cannot be written in a certificate`);
  }
  return range;
}

interface TbsInput {
  readonly issuer: Name;
  readonly subject: Name;
  readonly spki: Buffer;
  readonly extensions: Extension[];
  readonly signingKey: crypto.KeyObject;
  readonly privateKey: crypto.KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function sign(input: TbsInput): IssuedCertificate {
  // 16 random bytes, top bit clear and first byte nonzero: positive, minimal, unique, and within
  // RFC 5280's 20-octet limit.
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const algorithm = new AlgorithmIdentifier({ algorithm: OID.ecdsaWithSHA256 });
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serial),
    signature: algorithm,
    issuer: input.issuer,
    validity: new Validity({ notBefore: input.notBefore, notAfter: input.notAfter }),
    subject: input.subject,
    subjectPublicKeyInfo: AsnConvert.parse(input.spki, SubjectPublicKeyInfo),
    extensions: new Extensions(input.extensions),
  });
  // Node signs ECDSA as a DER Ecdsa-Sig-Value, which is what the BIT STRING holds.
  const signature = crypto.sign('sha256', Buffer.from(AsnConvert.serialize(tbsCertificate)), { key: input.signingKey, dsaEncoding: 'der' });
  const certificate = new Certificate({ tbsCertificate, signatureAlgorithm: algorithm, signatureValue: toArrayBuffer(signature) });
  return {
    certPem: toPem('CERTIFICATE', Buffer.from(AsnConvert.serialize(certificate))),
    keyPem: input.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    notBefore: input.notBefore,
    notAfter: input.notAfter,
  };
}

function extension(extnID: string, critical: boolean, value: object): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function distinguishedName(commonName: string): Name {
  const rdn = (type: string, value: string) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]);
  return new Name([rdn(OID.organization, 'cdk8s-shm'), rdn(OID.commonName, commonName)]);
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: Buffer): ArrayBuffer {
  const { subjectPublicKey } = AsnConvert.parse(spki, SubjectPublicKeyInfo);
  return toArrayBuffer(crypto.createHash('sha1').update(Buffer.from(subjectPublicKey)).digest());
}

/**
 * An iPAddress SAN's text in the one spelling the library reads right. It reads IPv4 and IPv6 in
 * hexadecimal groups, but not an IPv6 address that ends in dotted IPv4 (`::ffff:127.0.0.1`): it
 * takes `127.0.0.1` for a hexadecimal group and writes wrong octets without a word. Node's URL
 * parser (WHATWG's IPv6 serializer) rewrites every spelling to compressed hexadecimal groups. A
 * zone (`fe80::1%eth0`) has no place in a certificate, nor has a shorthand like `1.2.3`.
 */
function canonicalIp(ip: string): string {
  const version = isIP(ip);
  if (version === 4) return ip;
  if (version === 6 && !ip.includes('%')) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  throw new Error(`${ip} is not an IP address a certificate can hold`);
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function toPem(label: string, body: Buffer): string {
  const base64 = body.toString('base64').match(/.{1,64}/g)?.join('\n') ?? '';
  return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}
