// RFC 9162 inclusion proofs, against transparency-dev/merkle vectors
// (shared/vectors/merkle/inclusion), as used by the /verify view.
import { describe, expect, it } from 'vitest';
import { fromB64 } from '../src/shared/bytes';
import { verifyInclusion } from '../src/shared/merkle';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SHARED, readJson } from './helpers';

function files(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.json') ? [p] : [];
  });
}

interface Case { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean }

describe('inclusion proofs', () => {
  const dir = `${SHARED}/vectors/merkle/inclusion`;
  let n = 0;
  for (const path of files(dir)) {
    const c = readJson<Case>(path);
    n++;
    it(`${relative(dir, path)}: ${c.wantErr ? 'refused' : 'verifies'}`, async () => {
      const ok = await verifyInclusion(c.leafIdx, c.treeSize, fromB64(c.leafHash ?? ''), (c.proof ?? []).map(fromB64), fromB64(c.root ?? ''));
      expect(ok).toBe(!c.wantErr);
    });
  }
  it('found the vectors', () => expect(n).toBeGreaterThan(10));
});
