// The zip reader of the /verify page, against bundles the backend exported
// (shared/vectors/bundle/make_bundle_vectors.py): one with ZIP64 end records and
// extra fields, every entry checked against the bundle's own SHA256SUMS.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED } from './helpers';
import { sha256Hex } from '../src/shared/bytes';
import { crc32, ZipError, ZipReader } from '../src/verify/zip';

interface Vector {
  file: string;
  zip64_end_record: boolean;
  media: string;
  media_sha256: string;
  media_size: number;
  names: string[];
}
const DIR = join(SHARED, 'vectors', 'bundle');
const doc = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as { bundles: Record<string, Vector> };
const bytes = (v: Vector) => new Uint8Array(readFileSync(join(DIR, v.file)));
const blob = (data: Uint8Array) => new Blob([data as Uint8Array<ArrayBuffer>]);

describe('ZipReader on exported bundles', () => {
  for (const [name, v] of Object.entries(doc.bundles)) {
    it(`${name}: lists every file and reads each one as SHA256SUMS says`, async () => {
      const zip = await ZipReader.open(blob(bytes(v)));
      expect(zip.names().sort()).toEqual(v.names);
      // force_zip64 puts ZIP64 fields in the media's local header only; the central
      // directory and end records need them past 4 GiB (or, here, past the lowered limit).
      expect(zip.zip64).toBe(v.zip64_end_record);
      const sums = new TextDecoder().decode(await zip.read('SHA256SUMS'));
      const listed = new Map(sums.trim().split('\n').map((l) => [l.slice(66), l.slice(0, 64)]));
      expect(listed.size).toBe(v.names.length - 2); // not itself, nor the signature over it
      expect(v.names).toContain('SHA256SUMS.p7s');
      for (const n of v.names) {
        if (n === 'SHA256SUMS' || n === 'SHA256SUMS.p7s') continue;
        const data = n === v.media ? new Uint8Array(await (await zip.storedBlob(n)).arrayBuffer()) : await zip.read(n);
        expect(await sha256Hex(data), n).toBe(listed.get(n));
      }
      expect(zip.entry(v.media).method).toBe(0);
      expect(zip.entry('manifest.json').method).toBe(8);
      expect(zip.entry(v.media).size).toBe(v.media_size);
    });
  }

  it('reads ZIP64 end records and ZIP64 sizes and offsets in the central directory', async () => {
    const v = doc.bundles['stream-zip64'];
    const data = bytes(v);
    expect(v.zip64_end_record).toBe(true);
    // Python wrote the ZIP64 end record and its locator.
    const text = Buffer.from(data).toString('latin1');
    expect(text.includes('PK\x06\x06') && text.includes('PK\x06\x07')).toBe(true);
    const zip = await ZipReader.open(blob(data));
    const media = zip.entry(v.media);
    expect(media.size).toBe(v.media_size);
    expect(media.localOffset).toBeGreaterThan(256); // past the lowered ZIP64 limit: taken from the extra field
    expect(await sha256Hex(new Uint8Array(await (await zip.storedBlob(v.media)).arrayBuffer()))).toBe(v.media_sha256);
  });

  it('refuses what is not a zip, or a truncated one', async () => {
    await expect(ZipReader.open(blob(new Uint8Array(10)))).rejects.toBeInstanceOf(ZipError);
    await expect(ZipReader.open(blob(new TextEncoder().encode('x'.repeat(5000))))).rejects.toThrow(/no end of central directory/);
    const data = bytes(doc.bundles.photo);
    // cut the front off: the end record now points past the start
    await expect(ZipReader.open(blob(data.slice(2000)))).rejects.toBeInstanceOf(ZipError);
  });

  it('detects a damaged deflated entry (CRC-32 or inflate error)', async () => {
    const data = bytes(doc.bundles.photo);
    const zip = await ZipReader.open(blob(data));
    const { start, end } = await zip.dataRange('VERIFY.md');
    const bad = data.slice();
    bad[Math.floor((start + end) / 2)] ^= 0x55;
    const broken = await ZipReader.open(blob(bad));
    await expect(broken.read('VERIFY.md')).rejects.toBeInstanceOf(ZipError);
    // the other entries are unaffected
    expect(new TextDecoder().decode(await broken.read('manifest.json'))).toContain('fieldproof.capture');
  });

  it('refuses an entry larger than the limit before inflating it', async () => {
    const zip = await ZipReader.open(blob(bytes(doc.bundles.photo)));
    await expect(zip.read('VERIFY.md', 100)).rejects.toThrow(/larger than 100 bytes/);
  });

  it('computes CRC-32 like zlib', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });
});
