// Device keys: ECDSA P-256 with WebCrypto. The private key is created
// non-extractable, so no script (ours included) can ever read it out.
import { b64url, fromB64url, sha256, utf8 } from './bytes';
import { canonicalBytes } from './jcs';

export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

const ALG: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export async function generateDeviceKey(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALG, false, ['sign', 'verify']);
}

export async function publicJwk(key: CryptoKey): Promise<PublicJwk> {
  const jwk = await crypto.subtle.exportKey('jwk', key);
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new Error('not a P-256 key');
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

const REQUIRED: Record<string, string[]> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] };

/**
 * RFC 7638 JWK thumbprint: base64url SHA-256 of the JCS of the required
 * members only (for P-256: crv, kty, x, y). This is the device key id.
 */
export async function thumbprint(jwk: PublicJwk | Record<string, unknown>): Promise<string> {
  const names = REQUIRED[String(jwk.kty)];
  if (!names) throw new Error(`unsupported key type ${String(jwk.kty)}`);
  const members: Record<string, unknown> = {};
  for (const n of names) {
    if (typeof (jwk as Record<string, unknown>)[n] !== 'string') throw new Error(`JWK member ${n} is missing`);
    members[n] = (jwk as Record<string, unknown>)[n];
  }
  return b64url(await sha256(canonicalBytes(members)));
}

/** Raw r||s (IEEE P1363, 64 bytes) over the bytes themselves, base64url. */
export async function signBytes(key: CryptoKey, bytes: Uint8Array): Promise<string> {
  return b64url(await crypto.subtle.sign(SIGN, key, bytes as Uint8Array<ArrayBuffer>));
}

export async function importPublicJwk(jwk: PublicJwk): Promise<CryptoKey> {
  return crypto.subtle.importKey('jwk', { ...jwk, ext: true }, ALG, true, ['verify']);
}

export async function verifyBytes(key: CryptoKey, bytes: Uint8Array, signature: string): Promise<boolean> {
  const sig = fromB64url(signature);
  if (sig.length !== 64) return false;
  return crypto.subtle.verify(SIGN, key, sig as Uint8Array<ArrayBuffer>, bytes as Uint8Array<ArrayBuffer>);
}

export function textBytes(text: string): Uint8Array {
  return utf8.encode(text);
}
