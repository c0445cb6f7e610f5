// RFC 8785 vectors (cyberphone/json-canonicalization testdata, in shared/vectors/jcs).
import { describe, expect, it } from 'vitest';
import { hex } from '../src/shared/bytes';
import { canonicalBytes } from '../src/shared/jcs';
import { SHARED, list, readText } from './helpers';

const DIR = `${SHARED}/vectors/jcs`;

describe('JCS (RFC 8785)', () => {
  const names = list(DIR, 'input').filter((n) => n.endsWith('.json'));
  it('has the upstream vectors', () => expect(names.length).toBeGreaterThanOrEqual(6));

  for (const name of names) {
    it(`${name}: input canonicalizes to output, byte for byte`, () => {
      const input = JSON.parse(readText(DIR, 'input', name));
      const bytes = canonicalBytes(input);
      const want = readText(DIR, 'output', name).replace(/\n$/, '');
      expect(new TextDecoder().decode(bytes)).toBe(want);
      const outhex = readText(DIR, 'outhex', name.replace('.json', '.txt')).replace(/\s+/g, '');
      expect(hex(bytes)).toBe(outhex);
    });
  }

  it('refuses what JSON cannot say', () => {
    expect(() => canonicalBytes({ a: NaN })).toThrow();
    expect(() => canonicalBytes({ a: Infinity })).toThrow();
  });
});
