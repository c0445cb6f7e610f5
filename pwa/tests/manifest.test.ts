// The project's manifest vectors (shared/vectors/manifest/vectors.json): the
// PWA derives the same canonical bytes and hash as the backend, verifies the
// published test key's signatures with WebCrypto, and its own signatures verify.
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { b64url, fromB64url, fromHex, sha256Hex } from '../src/shared/bytes';
import { canonicalBytes, canonicalText } from '../src/shared/jcs';
import { generateDeviceKey, importPublicJwk, publicJwk, signBytes, thumbprint, verifyBytes, type PublicJwk } from '../src/shared/keys';
import { buildManifest, type Manifest } from '../src/shared/protocol';
import { SHARED, readJson } from './helpers';

interface Vectors {
  test_key: { jwk: PublicJwk; key_id: string; d_hex: string };
  manifests: { id: string; valid: boolean; manifest?: Manifest; raw?: string; canonical?: string; sha256?: string; signature?: string; error?: string }[];
  signatures: { id: string; canonical: string; signature: string; valid: boolean }[];
}

const V = readJson<Vectors>(SHARED, 'vectors', 'manifest', 'vectors.json');
const schema = readJson<object>(SHARED, 'schema', 'manifest-v1.schema.json');
const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);

describe('manifest vectors', () => {
  const valid = V.manifests.filter((m) => m.valid);

  for (const m of valid) {
    it(`${m.id}: canonical bytes and SHA-256 match the backend`, async () => {
      const bytes = canonicalBytes(m.manifest);
      expect(canonicalText(m.manifest)).toBe(m.canonical);
      expect(await sha256Hex(bytes)).toBe(m.sha256);
    });

    it(`${m.id}: the published signature verifies with WebCrypto`, async () => {
      const key = await importPublicJwk(V.test_key.jwk);
      expect(fromB64url(m.signature!).length).toBe(64);
      expect(await verifyBytes(key, canonicalBytes(m.manifest), m.signature!)).toBe(true);
    });

    it(`${m.id}: buildManifest rebuilds exactly these bytes`, () => {
      const src = m.manifest!;
      const rebuilt = buildManifest({
        kind: src.kind,
        media: src.media,
        start: src.captured.start,
        end: src.captured.end,
        nonce: src.nonce,
        geo: src.geo,
        device: src.device,
        prev: src.prev,
      });
      expect(canonicalText(rebuilt)).toBe(m.canonical);
      expect(validate(rebuilt)).toBe(true);
    });
  }

  it('the invalid vectors are refused by the shared schema', () => {
    for (const m of V.manifests.filter((x) => !x.valid && x.manifest)) {
      expect(validate(m.manifest), m.id).toBe(false);
    }
  });

  it('the test key id is its RFC 7638 thumbprint', async () => {
    expect(await thumbprint(V.test_key.jwk)).toBe(V.test_key.key_id);
  });

  for (const s of V.signatures) {
    it(`signature case ${s.id}: ${s.valid ? 'accepted' : 'refused'}`, async () => {
      const key = await importPublicJwk(V.test_key.jwk);
      expect(await verifyBytes(key, new TextEncoder().encode(s.canonical), s.signature)).toBe(s.valid);
    });
  }
});

describe('signing on the device', () => {
  it('the published test key signs the vectors and the signatures verify (round trip)', async () => {
    const priv = await crypto.subtle.importKey(
      'jwk',
      { ...V.test_key.jwk, d: b64url(fromHex(V.test_key.d_hex)), ext: false },
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign'],
    );
    const pub = await importPublicJwk(V.test_key.jwk);
    for (const m of V.manifests.filter((x) => x.valid)) {
      const bytes = canonicalBytes(m.manifest);
      const sig = await signBytes(priv, bytes);
      expect(await verifyBytes(pub, bytes, sig)).toBe(true);
    }
  });

  it('signs the canonical bytes (not a digest) and the signature verifies', async () => {
    const pair = await generateDeviceKey();
    expect(pair.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('jwk', pair.privateKey)).rejects.toThrow();
    const jwk = await publicJwk(pair.publicKey);
    const m = { ...V.manifests[0].manifest!, device: { ...V.manifests[0].manifest!.device, key_id: await thumbprint(jwk) } };
    const bytes = canonicalBytes(m);
    const sig = await signBytes(pair.privateKey, bytes);
    expect(sig).toMatch(/^[A-Za-z0-9_-]{86}$/); // 64 bytes, base64url, no padding
    const pub = await importPublicJwk(jwk);
    expect(await verifyBytes(pub, bytes, sig)).toBe(true);
    // Over the digest would be a different message: it must not verify.
    const digest = new TextEncoder().encode(await sha256Hex(bytes));
    expect(await verifyBytes(pub, digest, sig)).toBe(false);
    // Any change to the manifest breaks it.
    expect(await verifyBytes(pub, canonicalBytes({ ...m, prev: 'a'.repeat(64) }), sig)).toBe(false);
  });
});
