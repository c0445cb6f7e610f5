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
  context?: RecordingContext;
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
  context?: RecordingContext;
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
  context?: RecordingContext | null;
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
  if (p.context) m.context = p.context;
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
  context?: RecordingContext | null;
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
  if (p.context) h.context = p.context;
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

// -- calls and meetings (shared/PROTOCOL.md, "Calls and meetings") -------------------

/** The lawful-recording notice's version: a new text asks everyone to read it again. */
export const NOTICE_VERSION = 1;

export interface Notice {
  version: number;
  acknowledged_at: string;
}
export type CallMethod = 'speakerphone' | 'second_device' | 'dialer_import';
export type Direction = 'incoming' | 'outgoing';
export interface CallInfo {
  method: CallMethod;
  party?: string;
  direction?: Direction;
  started_at?: string;
  ended_at?: string;
  brand?: string;
}
export type TrackSource = 'display' | 'microphone';
export interface MeetingInfo {
  tracks: { index: number; source: TrackSource }[];
  video: boolean;
}
/** The signed `context` of a manifest and a stream header: what the person said about a recording. */
export type RecordingContext =
  | { type: 'call'; notice: Notice; call: CallInfo }
  | { type: 'meeting'; notice: Notice; meeting: MeetingInfo };

/** A stored acknowledgement as the schema wants it (UTC with Z), or null when unusable. */
export function cleanNotice(n: unknown): Notice | null {
  const v = n as Partial<Notice> | null | undefined;
  if (!v || typeof v.version !== 'number' || !Number.isInteger(v.version) || v.version < 1 || v.version > 1000) return null;
  if (typeof v.acknowledged_at !== 'string' || Number.isNaN(Date.parse(v.acknowledged_at))) return null;
  return { version: v.version, acknowledged_at: utc(Date.parse(v.acknowledged_at)) };
}

/**
 * A call's context. Optional fields are left out when empty (never null or
 * ""): the party is trimmed to the schema's 64 characters, the brand to 32,
 * the times are UTC.
 */
export function buildCallContext(notice: Notice, call: {
  method: CallMethod;
  party?: string | null;
  direction?: Direction | '' | null;
  startedAt?: string | Date | null;
  endedAt?: string | Date | null;
  brand?: string | null;
}): RecordingContext {
  const c: CallInfo = { method: call.method };
  const party = Array.from((call.party ?? '').replace(/\s+/g, ' ').trim()).slice(0, 64).join('');
  if (party) c.party = party;
  if (call.direction === 'incoming' || call.direction === 'outgoing') c.direction = call.direction;
  const start = toUtc(call.startedAt);
  if (start) c.started_at = start;
  const end = toUtc(call.endedAt);
  if (end) c.ended_at = end;
  const brand = (call.brand ?? '').trim().slice(0, 32);
  if (brand) c.brand = brand;
  return { type: 'call', notice: { version: notice.version, acknowledged_at: notice.acknowledged_at }, call: c };
}

/** A meeting's context: which channel (or track) of the file holds which source. */
export function buildMeetingContext(notice: Notice, tracks: TrackSource[], video: boolean): RecordingContext {
  return {
    type: 'meeting',
    notice: { version: notice.version, acknowledged_at: notice.acknowledged_at },
    meeting: { tracks: tracks.slice(0, 4).map((source, index) => ({ index, source })), video },
  };
}

function toUtc(v: string | Date | null | undefined): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : utc(v);
  return localToUtc(v);
}

/**
 * A time the person typed (an <input type="datetime-local"> value, which is
 * in their own zone, no offset) as RFC 3339 UTC; a text with an offset or Z is
 * taken as it says. Null when it is not a time.
 */
export function localToUtc(value: string): string | null {
  const s = value.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?$/.exec(s);
  if (m) {
    const [, y, mo, d, hh, mm, ss = '0', ms = '0'] = m;
    const when = new Date(+y, +mo - 1, +d, +hh, +mm, +ss, +ms.padEnd(3, '0'));
    if (when.getFullYear() !== +y || when.getMonth() !== +mo - 1 || when.getDate() !== +d) return null;
    return utc(when);
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(s)) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : utc(t);
}
