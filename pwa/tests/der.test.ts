// der.ts: a certificate's subject public key found by walking the TBSCertificate
// (RFC 5280 4.1) to its subjectPublicKeyInfo, checked against Node's X.509
// reader on the certificates of a real exported bundle.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CertError, OID_EC_PUBLIC_KEY, OID_P256, pemDer, publicKeyInfo, splitPem } from '../src/verify/der';
import { ZipReader } from '../src/verify/zip';
import { SHARED } from './helpers';

const DIR = join(SHARED, 'vectors', 'bundle');

async function pems(): Promise<string[]> {
  const data = new Uint8Array(readFileSync(join(DIR, 'bundles', 'audio-transcript.zip')));
  const zip = await ZipReader.open(new Blob([data]));
  const out: string[] = [];
  for (const n of zip.names().filter((x) => x.endsWith('.pem'))) out.push(...splitPem(new TextDecoder().decode(await zip.read(n))));
  return out;
}

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('publicKeyInfo', () => {
  it('is the SubjectPublicKeyInfo Node reads, for every certificate of a bundle', async () => {
    const blocks = await pems();
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const pem of blocks) {
      const info = publicKeyInfo(pemDer(pem));
      const want = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
      expect(hexOf(info.spki)).toBe(want.toString('hex'));
      expect(info).toMatchObject({ algorithm: OID_EC_PUBLIC_KEY, curve: OID_P256 });
      const key = await crypto.subtle.importKey('spki', info.spki as Uint8Array<ArrayBuffer>, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
      expect(key.type).toBe('public');
    }
  });

  it('names another curve as it is, and refuses what is not a certificate', async () => {
    const der = pemDer((await pems())[0]);
    const curve = '06082a8648ce3d030107'; // OID prime256v1, only in the subject key
    const at = hexOf(der).indexOf(curve);
    expect(at % 2).toBe(0);
    expect(hexOf(der).indexOf(curve, at + 1)).toBe(-1);
    const other = der.slice();
    other[at / 2 + curve.length / 2 - 1] = 0x06; // 1.2.840.10045.3.1.6
    expect(publicKeyInfo(other).curve).toBe('1.2.840.10045.3.1.6');
    expect(() => publicKeyInfo(der.subarray(0, der.length - 1))).toThrow(CertError);
    expect(() => publicKeyInfo(new Uint8Array([0x30, 0x00]))).toThrow(CertError);
  });
});
