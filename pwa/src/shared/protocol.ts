// The FieldProof protocol's messages, built exactly as shared/PROTOCOL.md says.
import { concat, fromHex, hex, sha256 } from './bytes';

export const APP_VERSION = `fieldproof-pwa/${__APP_VERSION__}`;

export type Kind = 'photo' | 'audio' | 'video' | 'screen' | 'import';
export type StreamKind = 'audio' | 'video' | 'screen';
export type AbsentReason =
  | 'permission_denied'
  | 'position_unavailable'
  | 'timeout'
  | 'unsupported'
  | 'not_provided';

export interface GeoFix {
  lat: number;
  lon: number;
  accuracy: number;
  altitude: number | null;
  altitude_accuracy: number | null;
  heading: number | null;
  speed: number | null;
  fixed_at: string;
}
export type Geo = GeoFix | { absent: AbsentReason };

export interface DeviceInfo {
  key_id: string;
  user_agent: string;
  ua_hints: Record<string, unknown> | null;
  platform: string;
  screen: { width: number; height: number; pixel_ratio: number } | null;
  app_version: string;
  timezone: string;
  language: string;
}

export interface Media {
  sha256: string;
  size: number;
  mime: string;
  name?: string;
}

export interface Manifest {
  v: 1;
  type: 'fieldproof.capture';
  kind: Kind;
  media: Media;
  captured: { start: string; end: string };
  nonce: string;
  geo: Geo;
  device: DeviceInfo;
  prev: string | null;
  stream?: { id: string; chunks: number; chain_head: string };
}

export interface StreamHeader {
  v: 2;
  type: 'fieldproof.stream';
  kind: StreamKind;
  mime: string;
  nonce: string;
  started_at: string;
  geo: Geo;
  device: DeviceInfo;
  prev: string | null;
  continues?: string;
}

export interface ChunkHeader {
  v: 2;
  type: 'fieldproof.chunk';
  stream: string;
  seq: number;
  size: number;
  sha256: string;
  chain: string;
  at: string;
  geo?: GeoFix;
}

/** RFC 3339 UTC with milliseconds and Z, as toISOString() gives. */
export function utc(when: Date | number): string {
  return new Date(when).toISOString();
}

export function buildManifest(p: {
  kind: Kind;
  media: Media;
  start: string;
  end: string;
  nonce: string;
  geo: Geo;
  device: DeviceInfo;
  prev: string | null;
  stream?: Manifest['stream'];
}): Manifest {
  const media: Media = { sha256: p.media.sha256, size: p.media.size, mime: cleanMime(p.media.mime) };
  if (p.media.name !== undefined) media.name = cleanName(p.media.name);
  const m: Manifest = {
    v: 1,
    type: 'fieldproof.capture',
    kind: p.kind,
    media,
    captured: { start: p.start, end: p.end < p.start ? p.start : p.end },
    nonce: p.nonce,
    geo: p.geo,
    device: p.device,
    prev: p.prev,
  };
  if (p.stream) m.stream = p.stream;
  return m;
}

export function buildStreamHeader(p: {
  kind: StreamKind;
  mime: string;
  nonce: string;
  startedAt: string;
  geo: Geo;
  device: DeviceInfo;
  prev: string | null;
  continues?: string;
}): StreamHeader {
  const h: StreamHeader = {
    v: 2,
    type: 'fieldproof.stream',
    kind: p.kind,
    mime: cleanMime(p.mime),
    nonce: p.nonce,
    started_at: p.startedAt,
    geo: p.geo,
    device: p.device,
    prev: p.prev,
  };
  if (p.continues) h.continues = p.continues;
  return h;
}

/** chain(n) = SHA-256(chain(n-1) || uint64be(n) || SHA-256(chunk n)); chain(-1) = stream id. */
export async function nextChain(prev: Uint8Array, seq: number, chunkSha256: Uint8Array): Promise<Uint8Array> {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(seq), false);
  return sha256(concat(prev, n, chunkSha256));
}

/** The chunk header a device signs, and the new chain value (hex). */
export async function buildChunkHeader(p: {
  streamId: string;
  seq: number;
  data: Uint8Array;
  prevChain: string;
  at: string;
  geo?: GeoFix | null;
}): Promise<ChunkHeader> {
  const digest = await sha256(p.data);
  const chain = await nextChain(fromHex(p.prevChain), p.seq, digest);
  const h: ChunkHeader = {
    v: 2,
    type: 'fieldproof.chunk',
    stream: p.streamId,
    seq: p.seq,
    size: p.data.length,
    sha256: hex(digest),
    chain: hex(chain),
    at: p.at,
  };
  if (p.geo) h.geo = p.geo;
  return h;
}

const MIME = /^[a-z0-9][a-z0-9.+-]*\/[a-z0-9][a-z0-9.+-]*(;[ ]?[a-z0-9.-]+=[A-Za-z0-9.,"=+-]+)*$/;

/** A MIME type the schema accepts: lower-case type, parameters kept if they fit. */
export function cleanMime(mime: string): string {
  const parts = (mime || '').split(';').map((s) => s.trim()).filter(Boolean);
  const base = (parts[0] || '').toLowerCase();
  if (!MIME.test(base)) return 'application/octet-stream';
  const params = parts.slice(1).map((p) => {
    const eq = p.indexOf('=');
    return eq < 0 ? p : p.slice(0, eq).trim().toLowerCase() + '=' + p.slice(eq + 1).trim();
  });
  const full = [base, ...params].join(';');
  return MIME.test(full) && full.length <= 127 ? full : base;
}

/** A file name the schema accepts: no slashes or control characters, <= 255 code points. */
export function cleanName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = Array.from(name.replace(/[/\\\u0000-\u001f]/g, '_')).slice(0, 255).join('');
  return safe.length ? safe : 'file';
}

function finite(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A signed fix from a GeolocationPosition (NaN and out-of-range members become null). */
export function geoFromPosition(pos: {
  coords: {
    latitude: number;
    longitude: number;
    accuracy: number;
    altitude: number | null;
    altitudeAccuracy: number | null;
    heading: number | null;
    speed: number | null;
  };
  timestamp: number;
}): GeoFix {
  const c = pos.coords;
  const heading = finite(c.heading);
  const speed = finite(c.speed);
  const altAcc = finite(c.altitudeAccuracy);
  return {
    lat: Math.min(90, Math.max(-90, c.latitude)),
    lon: Math.min(180, Math.max(-180, c.longitude)),
    accuracy: Math.max(0, finite(c.accuracy) ?? 0),
    altitude: finite(c.altitude),
    altitude_accuracy: altAcc !== null && altAcc >= 0 ? altAcc : null,
    heading: heading !== null && heading >= 0 && heading <= 360 ? heading : null,
    speed: speed !== null && speed >= 0 ? speed : null,
    fixed_at: utc(pos.timestamp || Date.now()),
  };
}

export function isFix(geo: Geo | null | undefined): geo is GeoFix {
  return !!geo && 'lat' in geo;
}
