// Pure helpers: MIME choice and cleaning, file names, geolocation to a signed fix, EXIF.
import { describe, expect, it } from 'vitest';
import { buildExif, exifLocalTime, insertExif } from '../src/app/exif';
import { fallbackKind, pickMime } from '../src/app/formats';
import { cleanMime, cleanName, geoFromPosition } from '../src/shared/protocol';

describe('recording format', () => {
  it('takes the first supported type in order', () => {
    const chromium = new Set(['audio/webm;codecs=opus', 'audio/webm', 'video/webm;codecs=vp9,opus', 'video/webm', 'video/webm;codecs=vp9']);
    expect(pickMime('audio', true, (t) => chromium.has(t))).toBe('audio/webm;codecs=opus');
    expect(pickMime('video', true, (t) => chromium.has(t))).toBe('video/webm;codecs=vp9,opus');
    expect(pickMime('screen', false, (t) => chromium.has(t))).toBe('video/webm;codecs=vp9');
    const safari = new Set(['audio/mp4', 'video/mp4']);
    expect(pickMime('audio', true, (t) => safari.has(t))).toBe('audio/mp4');
    expect(pickMime('video', true, (t) => safari.has(t))).toBe('video/mp4');
    expect(pickMime('audio', true, () => false)).toBeNull();
  });

  it('cleans MIME types to what the schema accepts', () => {
    expect(cleanMime('audio/webm;codecs=opus')).toBe('audio/webm;codecs=opus');
    expect(cleanMime('video/webm; codecs="vp8, opus"')).toBe('video/webm');
    expect(cleanMime('video/webm;codecs=vp8,opus')).toBe('video/webm;codecs=vp8,opus');
    expect(cleanMime('Image/JPEG')).toBe('image/jpeg');
    expect(cleanMime('')).toBe('application/octet-stream');
    expect(cleanMime('not a type')).toBe('application/octet-stream');
  });

  it('cleans file names', () => {
    expect(cleanName('租赁合同 — lease.pdf')).toBe('租赁合同 — lease.pdf');
    expect(cleanName('../etc/passwd')).toBe('.._etc_passwd');
    expect(cleanName('a\u0000b\nc')).toBe('a_b_c');
    expect(Array.from(cleanName('😀'.repeat(300))).length).toBe(255);
    expect(cleanName('')).toBe('file');
  });

  it('a camera-fallback file is a photo only when fresh', () => {
    const now = 1_800_000_000_000;
    expect(fallbackKind({ type: 'image/jpeg', lastModified: now - 5000 }, now)).toBe('photo');
    expect(fallbackKind({ type: 'image/jpeg', lastModified: now - 3_600_000 }, now)).toBe('import');
    expect(fallbackKind({ type: 'application/pdf', lastModified: now }, now)).toBe('import');
  });
});

describe('geolocation fix', () => {
  it('keeps what the schema allows and nulls the rest', () => {
    const fix = geoFromPosition({
      coords: { latitude: 31.2304, longitude: 121.4737, accuracy: 12, altitude: null, altitudeAccuracy: -1, heading: NaN, speed: -0.5 },
      timestamp: Date.UTC(2026, 10, 25, 5, 0, 0),
    });
    expect(fix).toEqual({
      lat: 31.2304, lon: 121.4737, accuracy: 12, altitude: null, altitude_accuracy: null, heading: null, speed: null,
      fixed_at: '2026-11-25T05:00:00.000Z',
    });
  });
});

/** A tiny TIFF reader for the test: the tags of one IFD. */
function readIfd(tiff: DataView, offset: number): Map<number, { type: number; count: number; at: number }> {
  const n = tiff.getUint16(offset, true);
  const out = new Map();
  for (let i = 0; i < n; i++) {
    const e = offset + 2 + 12 * i;
    const type = tiff.getUint16(e + 2, true);
    const count = tiff.getUint32(e + 4, true);
    const size = ({ 1: 1, 2: 1, 4: 4, 5: 8 } as Record<number, number>)[type] * count;
    out.set(tiff.getUint16(e, true), { type, count, at: size <= 4 ? e + 8 : tiff.getUint32(e + 8, true) });
  }
  return out;
}

describe('EXIF writer', () => {
  it('writes DateTimeOriginal, its offset and GPS that read back', () => {
    const when = new Date(2026, 10, 25, 13, 4, 5);
    const tiffBytes = buildExif({ when, fix: { lat: -33.8688, lon: 151.2093, accuracy: 7.5, altitude: null, altitude_accuracy: null, heading: null, speed: null, fixed_at: '' }, software: 'fieldproof-pwa/test' });
    const jfif = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0xff, 0xd9]);
    const jpeg = insertExif(jfif, tiffBytes);
    // SOI, the JFIF APP0 untouched, then APP1 "Exif\0\0".
    expect(Array.from(jpeg.subarray(0, 6))).toEqual([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04]);
    expect(Array.from(jpeg.subarray(8, 10))).toEqual([0xff, 0xe1]);
    expect(new TextDecoder().decode(jpeg.subarray(12, 16))).toBe('Exif');
    expect(Array.from(jpeg.subarray(-2))).toEqual([0xff, 0xd9]);
    const tiff = new DataView(jpeg.buffer, jpeg.byteOffset + 18);
    expect(tiff.getUint16(0, true)).toBe(0x4949);
    const ifd0 = readIfd(tiff, tiff.getUint32(4, true));
    const exif = readIfd(tiff, tiff.getUint32(ifd0.get(0x8769)!.at, true));
    const str = (e: { at: number; count: number }) => new TextDecoder().decode(new Uint8Array(tiff.buffer, tiff.byteOffset + e.at, e.count - 1));
    const { datetime, offset } = exifLocalTime(when);
    expect(str(exif.get(0x9003)!)).toBe(datetime);
    expect(datetime).toBe('2026:11:25 13:04:05');
    expect(str(exif.get(0x9011)!)).toBe(offset);
    const gps = readIfd(tiff, tiff.getUint32(ifd0.get(0x8825)!.at, true));
    const dms = (e: { at: number }) => {
      const r = (i: number) => tiff.getUint32(e.at + 8 * i, true) / tiff.getUint32(e.at + 8 * i + 4, true);
      return r(0) + r(1) / 60 + r(2) / 3600;
    };
    expect(str(gps.get(1)!)).toBe('S');
    expect(str(gps.get(3)!)).toBe('E');
    expect(dms(gps.get(2)!)).toBeCloseTo(33.8688, 6);
    expect(dms(gps.get(4)!)).toBeCloseTo(151.2093, 6);
  });

  it('leaves what is not a JPEG alone', () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    expect(insertExif(png, new Uint8Array(8))).toBe(png);
  });
});
