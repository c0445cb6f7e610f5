// RFC 7638 JWK thumbprints: the device key id.
import { describe, expect, it } from 'vitest';
import { generateDeviceKey, publicJwk, thumbprint } from '../src/shared/keys';
import { SHARED, readJson } from './helpers';

describe('RFC 7638 thumbprint', () => {
  it('RFC 7638 §3.1 example (RSA)', async () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(await thumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('matches the backend for the published test key, ignoring extra members', async () => {
    const { test_key } = readJson<{ test_key: { jwk: Record<string, string>; key_id: string } }>(SHARED, 'vectors', 'manifest', 'vectors.json');
    expect(await thumbprint(test_key.jwk)).toBe(test_key.key_id);
    expect(await thumbprint({ ...test_key.jwk, alg: 'ES256', use: 'sig', kid: 'x', ext: true })).toBe(test_key.key_id);
  });

  it('a generated device key has a 43-character id', async () => {
    const pair = await generateDeviceKey();
    const id = await thumbprint(await publicJwk(pair.publicKey));
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a JWK without its required members', async () => {
    await expect(thumbprint({ kty: 'EC', crv: 'P-256', x: 'abc' })).rejects.toThrow();
  });
});
