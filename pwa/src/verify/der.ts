// PEM certificate chains, read as strictly as the backend's verifier reads
// keys/tsa/*.pem and keys/server-ca.pem (split_pem_certificates, then
// cryptography's x509 loader, then canonical PEM): a DER walk of the X.509
// structure, no signature checks. The signatures themselves are checked where
// they are used: a TSA's by the server's timestamp explanation (or
// `fieldproof verify`), the server CA's by `fieldproof verify`.
import { b64 } from '../shared/bytes';
import { b64Strict } from '../shared/note';

export class CertError extends Error {}

const PEM_CERT = /-----BEGIN CERTIFICATE-----\r?\n[\s\S]*?-----END CERTIFICATE-----\r?\n?/g;
const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

/** Every PEM certificate block in `text`, in order, exactly as written (core/encoding.py). */
export function splitPem(text: string): string[] {
  return [...text.matchAll(PEM_CERT)].map((m) => m[0]);
}

/** The canonical PEM of a DER certificate: what cryptography's public_bytes(PEM) writes. */
export function canonicalPem(der: Uint8Array): string {
  const body = b64(der).match(/.{1,64}/g) ?? [];
  return `${BEGIN}\n${body.join('\n')}\n${END}\n`;
}

/** The DER bytes inside one PEM block (any line breaks, strict base64). */
export function pemDer(block: string): Uint8Array {
  const inner = block.replace(BEGIN, '').replace(END, '').replace(/\r?\n/g, '');
  try {
    return b64Strict(inner);
  } catch {
    throw new CertError('the PEM body is not base64');
  }
}

interface Tlv {
  tag: number;
  start: number; // where the tag is
  body: number; // where the contents start
  end: number;
}

function tlv(der: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new CertError('truncated DER');
  const tag = der[at];
  if ((tag & 0x1f) === 0x1f) throw new CertError('unexpected DER tag');
  let len = der[at + 1];
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new CertError('bad DER length');
    if (der[body] === 0) throw new CertError('non-minimal DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[body + i];
    if (len < 0x80) throw new CertError('non-minimal DER length');
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new CertError('truncated DER');
  return { tag, start: at, body, end };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; at = out[out.length - 1].end) out.push(tlv(der, at, parent.end));
  return out;
}

const OID_NAMES: Record<string, string> = {
  '550403': 'CN', '550406': 'C', '550407': 'L', '550408': 'ST', '55040a': 'O', '55040b': 'OU',
};
const STRINGS = new Set([0x0c, 0x13, 0x14, 0x16, 0x1e]);
const hexOf = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

/** An X.509 Name as RFC 4514 writes it (last RDN first), the common attributes only. */
function nameText(der: Uint8Array, name: Tlv): string {
  const parts: string[] = [];
  for (const rdn of children(der, name)) {
    if (rdn.tag !== 0x31) throw new CertError('bad X.509 name');
    for (const atv of children(der, rdn)) {
      const [oid, value] = atv.tag === 0x30 ? children(der, atv) : [];
      if (!oid || oid.tag !== 0x06 || !value) throw new CertError('bad X.509 name');
      const short = OID_NAMES[hexOf(der.subarray(oid.body, oid.end))];
      if (short && STRINGS.has(value.tag)) parts.push(`${short}=${new TextDecoder().decode(der.subarray(value.body, value.end))}`);
    }
  }
  return parts.reverse().join(',');
}

export interface CertSummary {
  subject: string;
  der: Uint8Array;
}

/** The certificate's TBSCertificate fields, their order and tags checked; `i` skips the optional version. */
function tbsFields(der: Uint8Array): { f: Tlv[]; i: number } {
  const top = tlv(der, 0, der.length);
  if (top.tag !== 0x30 || top.end !== der.length) throw new CertError('not a DER certificate');
  const [tbs, alg, sig, ...rest] = children(der, top);
  if (tbs?.tag !== 0x30 || alg?.tag !== 0x30 || sig?.tag !== 0x03 || rest.length) throw new CertError('not a DER certificate');
  const f = children(der, tbs);
  const i = f[0]?.tag === 0xa0 ? 1 : 0; // version
  const want = [0x02, 0x30, 0x30, 0x30, 0x30, 0x30]; // serial, signature, issuer, validity, subject, key
  want.forEach((tag, k) => {
    if (f[i + k]?.tag !== tag) throw new CertError('not a TBSCertificate');
  });
  for (const extra of f.slice(i + 6)) if (![0x81, 0x82, 0xa3].includes(extra.tag)) throw new CertError('not a TBSCertificate');
  return { f, i };
}

/** The structure of an X.509 certificate: Certificate, TBSCertificate and their fields in order. */
export function parseCertificate(der: Uint8Array): CertSummary {
  const { f, i } = tbsFields(der);
  const times = children(der, f[i + 3]);
  if (times.length !== 2 || times.some((t) => t.tag !== 0x17 && t.tag !== 0x18)) throw new CertError('bad validity');
  const subject = nameText(der, f[i + 4]);
  nameText(der, f[i + 2]);
  return { subject: subject || '?', der };
}

/** An OBJECT IDENTIFIER's contents in dotted form. */
function oidText(b: Uint8Array): string {
  if (!b.length || b[b.length - 1] & 0x80) throw new CertError('bad OID');
  const arcs: number[] = [];
  let v = 0;
  for (let k = 0; k < b.length; k++) {
    if (v === 0 && b[k] === 0x80) throw new CertError('non-minimal OID');
    v = v * 128 + (b[k] & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new CertError('OID arc too large');
    if (!(b[k] & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs[0] < 40 ? 0 : arcs[0] < 80 ? 1 : 2;
  return [first, arcs[0] - 40 * first, ...arcs.slice(1)].join('.');
}

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_P256 = '1.2.840.10045.3.1.7';

export interface PublicKeyInfo {
  /** The SubjectPublicKeyInfo's DER, tag and all: what WebCrypto imports as 'spki'. */
  spki: Uint8Array;
  /** Its algorithm (dotted OID), and the parameters when they are an OID (an EC key's named curve). */
  algorithm: string;
  curve: string | null;
}

/**
 * A certificate's subject public key: the TBSCertificate walked to its
 * subjectPublicKeyInfo (RFC 5280 4.1), SEQUENCE { AlgorithmIdentifier, BIT STRING }.
 */
export function publicKeyInfo(der: Uint8Array): PublicKeyInfo {
  parseCertificate(der);
  const { f, i } = tbsFields(der);
  const info = f[i + 5];
  const [alg, key, ...rest] = children(der, info);
  if (alg?.tag !== 0x30 || key?.tag !== 0x03 || rest.length) throw new CertError('bad subjectPublicKeyInfo');
  const [oid, params, ...more] = children(der, alg);
  if (oid?.tag !== 0x06 || more.length) throw new CertError('bad subjectPublicKeyInfo algorithm');
  if (key.end - key.body < 1 || der[key.body] !== 0) throw new CertError('bad subjectPublicKey bit string');
  return {
    spki: der.slice(info.start, info.end),
    algorithm: oidText(der.subarray(oid.body, oid.end)),
    curve: params?.tag === 0x06 ? oidText(der.subarray(params.body, params.end)) : null,
  };
}

/**
 * A chain file as the backend requires it: only PEM certificate blocks, each
 * one a well-formed certificate, in canonical PEM. Throws a CertError whose
 * `kind` says which requirement failed.
 */
export function parsePemChain(raw: Uint8Array): CertSummary[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ChainError('notPem');
  }
  const blocks = splitPem(text);
  if (!blocks.length || blocks.join('') !== text) throw new ChainError('notPem');
  let certs: CertSummary[];
  try {
    certs = blocks.map((b) => parseCertificate(pemDer(b)));
  } catch (err) {
    throw new ChainError('invalid', err instanceof Error ? err.message : String(err));
  }
  if (certs.map((c) => canonicalPem(c.der)).join('') !== text) throw new ChainError('notCanonical');
  return certs;
}

export class ChainError extends CertError {
  constructor(readonly kind: 'notPem' | 'invalid' | 'notCanonical', readonly reason = '') {
    super(reason || kind);
  }
}
