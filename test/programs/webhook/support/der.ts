/**
 * A strict DER reader for the tests: the oracle that the certificates the webhook issues are DER
 * (X.690 distinguished encoding), not merely BER that OpenSSL and Node accept. Go's crypto/x509,
 * which the API server trusts them with, parses DER strictly.
 */
// A DER reader works in bits and bytes: tags, length octets.
/* eslint-disable no-bitwise */

/** One element read from DER: its tag, its content, and its whole encoding. */
export interface DerElement {
  readonly tag: number;
  readonly content: Buffer;
  readonly raw: Buffer;
}

/**
 * Reads the element at `offset`, as DER allows it only: a one-byte tag, and a definite length in
 * the fewest octets (short form below 128; long form with no leading zero octet, at most 4).
 * Throws on anything else and on truncated input.
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

const INTEGER = 0x02;
const BOOLEAN = 0x01;
/** Elements whose content is itself DER: constructed tags, and the OCTET STRING of an extension's value. */
const isConstructed = (tag: number) => (tag & 0x20) !== 0;

/**
 * Walks a whole certificate, and every extension value inside it, and returns what breaks DER beyond
 * lengths (which `readDer` refuses): an INTEGER with a redundant leading octet, a BOOLEAN other than
 * 0xFF (DER writes TRUE as 0xFF and leaves a DEFAULT FALSE out).
 */
export function derProblems(der: Buffer): string[] {
  const problems: string[] = [];
  const walk = (element: DerElement, path: string, holdsDer: boolean): void => {
    if (element.tag === INTEGER) {
      const [first, second] = element.content;
      if (element.content.length > 1 && ((first === 0x00 && second < 0x80) || (first === 0xff && second >= 0x80))) problems.push(`${path}: INTEGER not minimal`);
    }
    if (element.tag === BOOLEAN && (element.content.length !== 1 || element.content[0] !== 0xff)) problems.push(`${path}: BOOLEAN ${element.content.toString('hex')}`);
    if (isConstructed(element.tag)) readChildren(element).forEach((child, i) => walk(child, `${path}/${i}`, false));
    // extnValue: an OCTET STRING holding the extension's own DER.
    else if (holdsDer) walk(readDer(element.content), `${path}/value`, false);
  };
  const visitExtensions = (element: DerElement, path: string): void => {
    readChildren(element).forEach((extension, i) => {
      const fields = readChildren(extension);
      walk(fields[fields.length - 1], `${path}/${i}/extnValue`, true);
    });
  };
  const certificate = readDer(der);
  if (certificate.raw.length !== der.length) problems.push('bytes after the certificate');
  walk(certificate, 'certificate', false);
  const tbs = readChildren(certificate)[0];
  const explicitExtensions = readChildren(tbs).find(field => field.tag === 0xa3);
  if (explicitExtensions) visitExtensions(readChildren(explicitExtensions)[0], 'extensions');
  return problems;
}

/** The fields of a certificate's TBSCertificate, by name (the version is present: we write v3). */
export function tbsFields(der: Buffer): Record<'version' | 'serial' | 'signature' | 'issuer' | 'validity' | 'subject' | 'spki' | 'extensions', DerElement> {
  const [version, serial, signature, issuer, validity, subject, spki, extensions] = readChildren(readChildren(readDer(der))[0]);
  return { version, serial, signature, issuer, validity, subject, spki, extensions };
}

/** The value (the DER inside extnValue) of the extension with this OID's encoding, if present. */
export function extensionValue(der: Buffer, oidContentHex: string): Buffer | undefined {
  for (const extension of readChildren(readChildren(tbsFields(der).extensions)[0])) {
    const fields = readChildren(extension);
    if (fields[0].content.toString('hex') === oidContentHex) return fields[fields.length - 1].content;
  }
  return undefined;
}
