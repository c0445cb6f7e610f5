// RFC 9162 consistency proofs (used for the custody checkpoint of a bundle),
// against transparency-dev/merkle vectors (shared/vectors/merkle/consistency).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromB64 } from '../src/shared/bytes';
import { consistencyError } from '../src/shared/merkle';
import { SHARED, readJson } from './helpers';

function files(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.json') ? [p] : [];
  });
}

interface Case { size1: number; size2: number; root1: string | null; root2: string | null; proof: string[] | null; desc: string; wantErr: boolean }

describe('consistency proofs', () => {
  const dir = `${SHARED}/vectors/merkle/consistency`;
  let n = 0;
  let bad = 0;
  for (const path of files(dir)) {
    const c = readJson<Case>(path);
    n++;
    if (c.wantErr) bad++;
    it(`${relative(dir, path)}: ${c.wantErr ? 'refused' : 'verifies'}`, async () => {
      const err = await consistencyError(c.size1, c.size2, fromB64(c.root1 ?? ''), fromB64(c.root2 ?? ''), (c.proof ?? []).map(fromB64));
      if (c.wantErr) expect(err, c.desc).not.toBeNull();
      else expect(err, c.desc).toBeNull();
    });
  }
  it('found the vectors, good and bad', () => {
    expect(n).toBeGreaterThan(10);
    expect(bad).toBeGreaterThan(5);
  });
});
