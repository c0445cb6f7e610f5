// A read-only ZIP reader over a Blob (a dropped File): it reads only the end
// records, the central directory and the entries it is asked for, each with
// Blob.slice, so a bundle with a 1 GB video is never loaded whole.
//
// Supports what evidence bundles use (services/export.py): STORED entries (the
// media, read by range, never decompressed) and DEFLATED ones (small files,
// inflated with the browser's own DecompressionStream('deflate-raw'): no
// library), ZIP64 end records and extra fields (the media is written with
// force_zip64). Refuses encryption, multi-disk archives and other methods.

export class ZipError extends Error {}

export interface ZipEntry {
  name: string;
  method: number; // 0 stored, 8 deflated
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_Z64_LOCATOR = 0x07064b50;
const SIG_Z64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;
const EOCD_SIZE = 22;

async function bytesAt(blob: Blob, start: number, end: number): Promise<Uint8Array> {
  if (start < 0 || end > blob.size || start > end) throw new ZipError('truncated zip file');
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

function u64(view: DataView, at: number): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  const n = hi * 0x1_0000_0000 + lo;
  if (!Number.isSafeInteger(n)) throw new ZipError('a ZIP64 size or offset is beyond 2^53');
  return n;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class ZipReader {
  private constructor(
    readonly blob: Blob,
    readonly entries: ZipEntry[],
    readonly zip64: boolean,
  ) {}

  static async open(blob: Blob): Promise<ZipReader> {
    if (blob.size < EOCD_SIZE) throw new ZipError('not a zip file (too short)');
    const tailStart = Math.max(0, blob.size - EOCD_SIZE - MAX_COMMENT);
    const tail = await bytesAt(blob, tailStart, blob.size);
    const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let eocd = -1;
    for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
      if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + tv.getUint16(i + 20, true) === tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ZipError('not a zip file (no end of central directory record)');
    const disk = tv.getUint16(eocd + 4, true);
    const cdDisk = tv.getUint16(eocd + 6, true);
    let count = tv.getUint16(eocd + 10, true);
    let cdSize = tv.getUint32(eocd + 12, true);
    let cdOffset = tv.getUint32(eocd + 16, true);
    let zip64 = false;
    const locAt = eocd - 20;
    if (locAt >= 0 && tv.getUint32(locAt, true) === SIG_Z64_LOCATOR) {
      zip64 = true;
      const recAt = u64(tv, locAt + 8);
      if (tv.getUint32(locAt + 16, true) > 1) throw new ZipError('multi-disk zip files are not supported');
      const rec = await bytesAt(blob, recAt, recAt + 56);
      const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      if (rv.getUint32(0, true) !== SIG_Z64_EOCD) throw new ZipError('bad ZIP64 end of central directory record');
      if (rv.getUint32(16, true) !== 0 || rv.getUint32(20, true) !== 0) throw new ZipError('multi-disk zip files are not supported');
      count = u64(rv, 32);
      cdSize = u64(rv, 40);
      cdOffset = u64(rv, 48);
    } else if (disk !== 0 || cdDisk !== 0) {
      throw new ZipError('multi-disk zip files are not supported');
    } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      throw new ZipError('ZIP64 fields without a ZIP64 end record');
    }
    if (cdOffset + cdSize > blob.size) throw new ZipError('truncated zip file (central directory beyond the end)');
    const cd = await bytesAt(blob, cdOffset, cdOffset + cdSize);
    const v = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let n = 0; n < count; n++) {
      if (p + 46 > cd.length || v.getUint32(p, true) !== SIG_CENTRAL) throw new ZipError(`bad central directory entry ${n}`);
      const flags = v.getUint16(p + 8, true);
      const method = v.getUint16(p + 10, true);
      const crc32 = v.getUint32(p + 16, true);
      let compressedSize = v.getUint32(p + 20, true);
      let size = v.getUint32(p + 24, true);
      const nameLen = v.getUint16(p + 28, true);
      const extraLen = v.getUint16(p + 30, true);
      const commentLen = v.getUint16(p + 32, true);
      const diskStart = v.getUint16(p + 34, true);
      let localOffset = v.getUint32(p + 42, true);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > cd.length) throw new ZipError(`bad central directory entry ${n}`);
      const name = utf8.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: only the fields whose 32-bit value is all ones, in this order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = v.getUint16(e, true);
        const len = v.getUint16(e + 2, true);
        if (e + 4 + len > extraEnd) throw new ZipError(`${name}: bad extra field`);
        if (id === 0x0001) {
          let q = e + 4;
          const take = (): number => {
            if (q + 8 > e + 4 + len) throw new ZipError(`${name}: short ZIP64 extra field`);
            const x = u64(v, q);
            q += 8;
            return x;
          };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localOffset === 0xffffffff) localOffset = take();
          zip64 = true;
        }
        e += 4 + len;
      }
      if (diskStart !== 0 && diskStart !== 0xffff) throw new ZipError('multi-disk zip files are not supported');
      if (!name.endsWith('/')) entries.push({ name, method, flags, crc32, compressedSize, size, localOffset });
      p = end;
    }
    return new ZipReader(blob, entries, zip64);
  }

  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  entry(name: string): ZipEntry {
    const found = this.entries.filter((e) => e.name === name);
    if (found.length !== 1) throw new ZipError(found.length ? `${name} is in the zip file more than once` : `${name} is not in the zip file`);
    return found[0];
  }

  /** Where an entry's (compressed) bytes are: after its local header. */
  async dataRange(name: string): Promise<{ start: number; end: number; entry: ZipEntry }> {
    const entry = this.entry(name);
    if (entry.flags & 0x1) throw new ZipError(`${name} is encrypted`);
    const head = await bytesAt(this.blob, entry.localOffset, entry.localOffset + 30);
    const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (hv.getUint32(0, true) !== SIG_LOCAL) throw new ZipError(`${name}: bad local file header`);
    const nameLen = hv.getUint16(26, true);
    const extraLen = hv.getUint16(28, true);
    const localName = await bytesAt(this.blob, entry.localOffset + 30, entry.localOffset + 30 + nameLen);
    if (utf8.decode(localName) !== name) throw new ZipError(`${name}: the local header names another file`);
    const start = entry.localOffset + 30 + nameLen + extraLen;
    const end = start + entry.compressedSize;
    if (end > this.blob.size) throw new ZipError(`${name}: truncated`);
    return { start, end, entry };
  }

  /** A STORED entry's bytes as a Blob (slice of the zip: nothing is read yet). */
  async storedBlob(name: string): Promise<Blob> {
    const { start, end, entry } = await this.dataRange(name);
    if (entry.method !== 0) throw new ZipError(`${name} is compressed (method ${entry.method}), not stored`);
    if (entry.size !== entry.compressedSize) throw new ZipError(`${name}: stored sizes differ`);
    return this.blob.slice(start, end);
  }

  /** A whole (small) entry, inflated if needed, its size and CRC-32 checked. */
  async read(name: string, max = 64 << 20): Promise<Uint8Array> {
    const { start, end, entry } = await this.dataRange(name);
    if (entry.size > max) throw new ZipError(`${name} is larger than ${max} bytes`);
    let out: Uint8Array;
    if (entry.method === 0) {
      out = await bytesAt(this.blob, start, end);
    } else if (entry.method === 8) {
      out = await inflateRaw(this.blob.slice(start, end), max);
    } else {
      throw new ZipError(`${name}: unsupported compression method ${entry.method}`);
    }
    if (out.length !== entry.size) throw new ZipError(`${name}: ${out.length} bytes, the zip directory says ${entry.size}`);
    if (crc32(out) !== entry.crc32) throw new ZipError(`${name}: CRC-32 mismatch (damaged zip entry)`);
    return out;
  }
}

/** Inflate raw DEFLATE data (RFC 1951) with the platform's DecompressionStream. */
export async function inflateRaw(data: Blob, max: number): Promise<Uint8Array> {
  if (typeof DecompressionStream === 'undefined') throw new ZipError('this browser cannot decompress zip entries (no DecompressionStream)');
  const reader = data.stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        throw new ZipError(`inflates to more than ${max} bytes`);
      }
      parts.push(value);
    }
  } catch (err) {
    if (err instanceof ZipError) throw err;
    throw new ZipError(`cannot be inflated (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

let CRC_TABLE: Uint32Array | null = null;

export function crc32(data: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
