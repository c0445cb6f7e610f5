// Making single-file captures: photo (camera frame), file fallback, import.
import { sha256Hex } from '../shared/bytes';
import type { OutboxItem } from '../shared/db';
import { initialState } from '../shared/outbox';
import { APP_VERSION, cleanMime, cleanName, isFix, utc, type Geo, type Kind, type RecordingContext } from '../shared/protocol';
import { buildExif, insertExif } from './exif';
import { deviceInfo } from './meta';
import { session } from './session';
import { sealAndSave } from './signer';

export const JPEG_QUALITY = 0.92;

/** The video frame at the moment of the tap, on a canvas. */
export function snapshot(video: HTMLVideoElement): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d');
  if (!ctx || !canvas.width) throw new Error('no video frame yet');
  ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/** The frame as a JPEG (quality 0.92), with EXIF time and GPS written in. */
export async function encodeFrame(canvas: HTMLCanvasElement, when: Date, geo: Geo): Promise<Blob> {
  const blob = await new Promise<Blob>((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('JPEG encoding failed'))), 'image/jpeg', JPEG_QUALITY),
  );
  const jpeg = new Uint8Array(await blob.arrayBuffer());
  const tiff = buildExif({ when, fix: isFix(geo) ? geo : null, software: APP_VERSION });
  return new Blob([insertExif(jpeg, tiff) as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' });
}

/** Hash the exact bytes, sign the manifest (if a nonce is at hand) and put it in the outbox. */
export async function queueFile(p: {
  kind: Kind;
  blob: Blob;
  mime: string;
  name: string | null;
  start: Date;
  end: Date;
  geo: Geo;
  context?: RecordingContext | null;
}): Promise<OutboxItem> {
  const key = await session.ensureKey();
  const bytes = await p.blob.arrayBuffer();
  const [sha256, nonce, device] = await Promise.all([sha256Hex(bytes), session.nonce(), deviceInfo(key.keyId)]);
  const item: OutboxItem = {
    id: crypto.randomUUID(),
    kind: p.kind,
    createdAt: utc(p.start),
    keyId: key.keyId,
    mime: cleanMime(p.mime),
    name: p.name === null ? null : cleanName(p.name),
    sha256,
    size: bytes.byteLength,
    start: utc(p.start),
    end: utc(p.end),
    geo: p.geo,
    device,
    nonce,
    manifest: null,
    manifestHash: null,
    signature: null,
    forge: false,
    stream: null,
    state: initialState(),
    ...(p.context ? { context: p.context } : {}),
  };
  return sealAndSave(item, p.blob);
}
