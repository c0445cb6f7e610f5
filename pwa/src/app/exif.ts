// A minimal EXIF writer for the JPEGs the camera view makes with a canvas
// (which carry no metadata): DateTimeOriginal with its UTC offset and the GPS
// fix, so the server's exif / exif_gps / exif_time checks can compare them
// with the signed manifest. The bytes are written before hashing and signing.
import type { GeoFix } from '../shared/protocol';

const ASCII = 2;
const LONG = 4;
const RATIONAL = 5;
const BYTE = 1;

interface Entry {
  tag: number;
  type: number;
  count: number;
  value: Uint8Array; // little-endian payload
}

function ascii(tag: number, text: string): Entry {
  const bytes = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0x7f;
  return { tag, type: ASCII, count: bytes.length, value: bytes };
}

function rationals(tag: number, pairs: [number, number][]): Entry {
  const v = new Uint8Array(8 * pairs.length);
  const dv = new DataView(v.buffer);
  pairs.forEach(([num, den], i) => {
    dv.setUint32(8 * i, num, true);
    dv.setUint32(8 * i + 4, den, true);
  });
  return { tag, type: RATIONAL, count: pairs.length, value: v };
}

function long(tag: number, n: number): Entry {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, n, true);
  return { tag, type: LONG, count: 1, value: v };
}

function dms(deg: number): [number, number][] {
  const a = Math.abs(deg);
  const d = Math.floor(a);
  const m = Math.floor((a - d) * 60);
  const s = Math.round(((a - d) * 60 - m) * 60 * 10000);
  return [
    [d, 1],
    [m, 1],
    [s, 10000],
  ];
}

/** Lay out one IFD at `offset` (from the TIFF header); returns its bytes. */
function ifd(entries: Entry[], offset: number): Uint8Array {
  entries.sort((a, b) => a.tag - b.tag);
  const head = 2 + 12 * entries.length + 4;
  const extra = entries.reduce((n, e) => n + (e.value.length > 4 ? e.value.length + (e.value.length % 2) : 0), 0);
  const out = new Uint8Array(head + extra);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, entries.length, true);
  let data = head;
  entries.forEach((e, i) => {
    const at = 2 + 12 * i;
    dv.setUint16(at, e.tag, true);
    dv.setUint16(at + 2, e.type, true);
    dv.setUint32(at + 4, e.count, true);
    if (e.value.length <= 4) {
      out.set(e.value, at + 8);
    } else {
      dv.setUint32(at + 8, offset + data, true);
      out.set(e.value, data);
      data += e.value.length + (e.value.length % 2);
    }
  });
  dv.setUint32(2 + 12 * entries.length, 0, true); // no next IFD
  return out;
}

function ifdSize(entries: Entry[]): number {
  return 2 + 12 * entries.length + 4 + entries.reduce((n, e) => n + (e.value.length > 4 ? e.value.length + (e.value.length % 2) : 0), 0);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** "YYYY:MM:DD HH:MM:SS" in the device's local time, and "+HH:MM". */
export function exifLocalTime(when: Date): { datetime: string; offset: string } {
  const datetime = `${when.getFullYear()}:${pad(when.getMonth() + 1)}:${pad(when.getDate())} ${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
  const off = -when.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const offset = `${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return { datetime, offset };
}

/** The TIFF payload of an APP1 Exif segment. */
export function buildExif(p: { when: Date; fix: GeoFix | null; software: string }): Uint8Array {
  const { datetime, offset } = exifLocalTime(p.when);
  const exifEntries = [ascii(0x9003, datetime), ascii(0x9011, offset)];
  const gpsEntries: Entry[] = [];
  if (p.fix) {
    gpsEntries.push(
      { tag: 0x0000, type: BYTE, count: 4, value: new Uint8Array([2, 3, 0, 0]) },
      ascii(0x0001, p.fix.lat >= 0 ? 'N' : 'S'),
      rationals(0x0002, dms(p.fix.lat)),
      ascii(0x0003, p.fix.lon >= 0 ? 'E' : 'W'),
      rationals(0x0004, dms(p.fix.lon)),
      rationals(0x001f, [[Math.round(p.fix.accuracy * 100), 100]]),
    );
  }
  // IFD0 entries: Software, ExifIFD pointer (+ GPS IFD pointer); offsets fixed below.
  const ifd0Entries = [ascii(0x0131, p.software.slice(0, 60)), long(0x8769, 0)];
  if (p.fix) ifd0Entries.push(long(0x8825, 0));
  const ifd0Off = 8;
  const exifOff = ifd0Off + ifdSize(ifd0Entries);
  const gpsOff = exifOff + ifdSize(exifEntries);
  ifd0Entries[1] = long(0x8769, exifOff);
  if (p.fix) ifd0Entries[2] = long(0x8825, gpsOff);
  const parts = [ifd(ifd0Entries, ifd0Off), ifd(exifEntries, exifOff)];
  if (p.fix) parts.push(ifd(gpsEntries, gpsOff));
  const header = new Uint8Array([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00]); // "II", 42, IFD0 at 8
  const total = header.length + parts.reduce((n, x) => n + x.length, 0);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let at = header.length;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

/** Insert an APP1 Exif segment after SOI (and after a JFIF APP0, if present). */
export function insertExif(jpeg: Uint8Array, tiff: Uint8Array): Uint8Array {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return jpeg; // not a JPEG: leave it alone
  let at = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) at = 4 + ((jpeg[4] << 8) | jpeg[5]);
  const payload = 6 + tiff.length;
  if (payload + 2 > 0xffff) return jpeg;
  const seg = new Uint8Array(4 + payload);
  seg.set([0xff, 0xe1, (payload + 2) >> 8, (payload + 2) & 0xff, 0x45, 0x78, 0x69, 0x66, 0, 0]);
  seg.set(tiff, 10);
  const out = new Uint8Array(jpeg.length + seg.length);
  out.set(jpeg.subarray(0, at), 0);
  out.set(seg, at);
  out.set(jpeg.subarray(at), at + seg.length);
  return out;
}
