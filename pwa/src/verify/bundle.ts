// The evidence-bundle verifier, in the browser. A port of the backend's
// offline verifier (backend/src/fieldproof/bundle/verify.py, the reference):
// the same checks, names and order (its `verify()`), one result line each,
// the same layout, caps and custody events (shared/vectors/bundle/layout.json,
// written from bundle/layout.py). Both run every case of
// shared/vectors/bundle/cases.json (pwa/tests/bundle-cases.test.ts).
//
// What a browser cannot check itself is said so, never passed: its line has
// status 'info' ("not checked in this browser") and names who checks it.
// - timestamp: RFC 3161 tokens are CMS; the page sends each token with the
//   checkpoint text to the server (`timestamp`), which explains it step by
//   step. Without a server the line is 'info'.
// - certificate: the PDF's PAdES signature (CMS, X.509, byte ranges).
// - credentials: a C2PA manifest (JUMBF, COSE, X.509).
// - in the transcript check (which runs here): that the server CA certified
//   keys/transcriber.pem (a machine version's key is taken from it and its
//   signature checked here), and transcript.pdf's PAdES signature. The pass
//   message says both are left to `fieldproof verify`.
// Their preconditions that need no CMS (a token per chain, the server CA is
// one well-formed certificate, the copy is a format C2PA carries) are checked
// here and fail here, as in the reference.
//
// Messages are i18n keys with parameters, so the page shows them in the
// user's language.
import type { Key } from '../i18n';
import { b64 as b64Text, b64url, equalBytes, fromB64url, fromHex, hex, sha256, utf8 } from '../shared/bytes';
import { canonicalText } from '../shared/jcs';
import { thumbprint } from '../shared/keys';
import { consistencyError, leafHash, verifyInclusion } from '../shared/merkle';
import { nextChain } from '../shared/protocol';
import LAYOUT from '../../../shared/vectors/bundle/layout.json';
import TIMESTAMP_STEPS from '../../../shared/vectors/verify/timestamp-steps.json';
import { ChainError, OID_EC_PUBLIC_KEY, OID_P256, parseCertificate, parsePemChain, pemDer, publicKeyInfo, splitPem, type CertSummary, type PublicKeyInfo } from './der';
import { hashBlob, type MediaDigest } from './hash';
import { b64Strict, NoteError, openCheckpoint, parseVkey, type Checkpoint, type VerifierKey } from '../shared/note';
import { ZipError, ZipReader } from './zip';

const STEP_CODES: Record<string, Record<string, string[]> | undefined> = TIMESTAMP_STEPS.steps;

// Names, limits and events: the shared layout (bundle/layout.py, via layout.json).
const F = LAYOUT.files;
export const MANIFEST = F.manifest;
export const SIGNATURE = F.signature;
export const DEVICE_KEY = F.device_key;
export const CHUNKS = F.chunks;
export const LOG_ENTRY = F.log_entry;
export const RECEIPT = F.receipt;
export const CHECKPOINT = F.checkpoint;
export const LOG_VKEY = F.log_vkey;
export const CUSTODY = F.custody;
export const CUSTODY_CHECKPOINT = F.custody_checkpoint;
export const CUSTODY_CONSISTENCY = F.custody_consistency;
export const CERTIFICATE = F.certificate;
export const SERVER_CA = F.server_ca;
export const SUMS = F.sums;
export const SUMS_SIGNATURE = F.sums_signature;
export const MEDIA_DIR = LAYOUT.dirs.media;
export const DERIVED_DIR = LAYOUT.dirs.derived;
export const TIMESTAMP_DIR = LAYOUT.dirs.timestamps;
export const TSA_KEY_DIR = LAYOUT.dirs.tsa_keys;
const WEB_DIR = LAYOUT.web.dir;
const WEB_RECORDER_CERT = LAYOUT.web.recorder_cert;
const STREAMED: ReadonlySet<string> = new Set(LAYOUT.web.streamed);
const TRANSCRIPT_FILE = new RegExp(`^(?:${LAYOUT.transcript.file_pattern})$`);
const TRANSCRIPT_DIR = LAYOUT.transcript.dir;
const TRANSCRIPT_LOG = LAYOUT.transcript.log;
const TRANSCRIPT_PDF = LAYOUT.transcript.pdf;
const TRANSCRIBER_CERT = LAYOUT.transcript.transcriber_cert;
const C2PA_PREFIX = LAYOUT.c2pa_copy.prefix;
const C2PA_EXTENSIONS: readonly string[] = LAYOUT.c2pa_copy.extensions;
const CONVENIENCES: readonly string[] = LAYOUT.conveniences;
const FIXED: ReadonlySet<string> = new Set(LAYOUT.fixed);
const REQUIRED: readonly string[] = LAYOUT.required;
const RECEIPT_MEMBERS: readonly string[] = LAYOUT.receipt_members;
const CUSTODY_RECORD = LAYOUT.custody.record_type;
/** The custody events a record may name (core/logentry.py CUSTODY_EVENTS, via layout.json). */
export const CUSTODY_EVENTS: readonly string[] = LAYOUT.custody.events;
const CHUNK_MEMBERS = ['chain', 'header', 'sha256', 'seq', 'signature', 'size'];
/** Caps a reader enforces before reading (a zip bomb is not a bundle): bundle/layout.py. */
export const MAX_FILES = LAYOUT.limits.max_files;
export const MAX_SMALL_FILE = LAYOUT.limits.max_small_file; // every member but the media is read whole
export const MAX_SMALL_TOTAL = LAYOUT.limits.max_small_total; // ... and all of them together
const MAX_INFLATED_MEDIA = 256 << 20; // a DEFLATED media member (our exports STORE it)

/** The checks this browser cannot run itself: their lines say so ('info'), never 'pass'. */
export const NOT_IN_BROWSER: readonly string[] = ['timestamp', 'sums_signature', 'certificate', 'credentials', 'web_recorder'];

/** Whether the layout has a place for `name`, the media's own name given (bundle/layout.py is_member). */
export function isMember(name: string, mediaName: string | null): boolean {
  const slashes = name.split('/').length - 1;
  return FIXED.has(name) || name === mediaName ||
    (name.startsWith(TIMESTAMP_DIR) && slashes === 1) ||
    (name.startsWith(TSA_KEY_DIR) && name.endsWith('.pem') && slashes === 2) ||
    CONVENIENCES.includes(name) ||
    (name.startsWith(C2PA_PREFIX) && slashes === 1) ||
    TRANSCRIPT_FILE.test(name);
}

export interface Msg {
  key: Key;
  params?: Record<string, MsgParam>;
}
/** A message's parameter: text, a number, or a list of messages (each said in the reader's language). */
export type MsgParam = string | number | Msg[];
/**
 * pass, fail; skip: could not be checked now (the server unreachable, no
 * Ed25519 in this browser, a key from another log); info: not checked in this
 * browser at all, by design (NOT_IN_BROWSER: its message says who checks it).
 */
export type Status = 'pass' | 'fail' | 'skip' | 'info';
/** One step of the server's explanation: a code and its data, worded by the page (stepMsg). */
export interface TimestampStep {
  step: string;
  ok: boolean;
  code: string;
  params: Record<string, string | number>;
}
/** What POST /api/v1/verify/timestamp answers. */
export interface TimestampExplanation {
  ok: boolean;
  tsa: string | null;
  embedded: boolean | null;
  gen_time: string | null;
  steps: TimestampStep[];
}
export interface Check {
  name: string;
  status: Status;
  msg: Msg;
  steps?: TimestampStep[];
  embedded?: boolean | null;
}
export interface BundleReport {
  checks: Check[];
  ok: boolean; // no check failed or was skipped ('info' lines are listed in notInBrowser)
  failed: number;
  skipped: number;
  /** The names of the checks left to `fieldproof verify` (lines with status 'info'), in order. */
  notInBrowser: string[];
  capture: {
    manifestSha256: string;
    media: string;
    mediaSha256: string;
    mediaSize: number;
    mediaMs: number;
    keyId: string;
    kind: string;
    origin: string | null;
    partial: boolean;
  };
}
export interface VerifyOptions {
  /** Explain one RFC 3161 token over the checkpoint text (the server does this). */
  timestamp?: (token: Uint8Array, checkpoint: string) => Promise<TimestampExplanation>;
  /** The log key this server publishes (GET /api/v1/log), to say whether the bundle is from this log. */
  serverVkey?: string | null;
  /** A pinned log key, as `fieldproof verify --log-key`: it is used, and keys/log.vkey must be it. */
  logVkey?: string | null;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Where the bundle's files come from: a zip file, or (tests) a map of bytes. */
export interface BundleSource {
  names(): string[];
  /** A whole file; throws if it is (or inflates to) more than `max` bytes. */
  read(name: string, max: number): Promise<Uint8Array>;
  blob(name: string): Promise<Blob>;
  /** The size the container declares (before reading anything), if it says. */
  declaredSize?(name: string): number | undefined;
}

export class ZipSource implements BundleSource {
  constructor(readonly zip: ZipReader) {}
  names(): string[] {
    return this.zip.names();
  }
  read(name: string, max: number): Promise<Uint8Array> {
    return this.zip.read(name, max);
  }
  declaredSize(name: string): number | undefined {
    const found = this.zip.entries.filter((e) => e.name === name);
    return found.length === 1 ? found[0].size : undefined;
  }
  async blob(name: string): Promise<Blob> {
    if (this.zip.entry(name).method === 0) return this.zip.storedBlob(name);
    // Not what our exports write (the media is STORED), but a valid zip all the same.
    return new Blob([(await this.zip.read(name, MAX_INFLATED_MEDIA)) as Uint8Array<ArrayBuffer>]);
  }
}

export class MemorySource implements BundleSource {
  constructor(readonly files: Map<string, Uint8Array>) {}
  names(): string[] {
    return [...this.files.keys()];
  }
  async read(name: string, max = Infinity): Promise<Uint8Array> {
    const data = this.files.get(name);
    if (!data) throw new Error(`${name} is missing`);
    if (data.length > max) throw new Error(`${name} is larger than ${max} bytes`);
    return data;
  }
  async blob(name: string): Promise<Blob> {
    return new Blob([(await this.read(name)) as Uint8Array<ArrayBuffer>]);
  }
}

/** Not a bundle at all: nothing to verify. */
export class BundleUnusable extends Error {
  constructor(readonly msg: Msg) {
    super(msg.key);
  }
}

/** The zip's reader if `file` is a zip holding an evidence bundle, else null. */
export async function openBundleZip(file: Blob): Promise<ZipReader | null> {
  try {
    const zip = await ZipReader.open(file);
    const names = new Set(zip.names());
    return names.has(MANIFEST) && names.has(SUMS) && names.has(LOG_ENTRY) ? zip : null;
  } catch (err) {
    if (err instanceof ZipError) return null;
    throw err;
  }
}

class Bad extends Error {
  constructor(readonly msg: Msg) {
    super(msg.key);
  }
}

/**
 * A timestamp step said in the reader's language: `verify.ts.<step>.<code>`
 * (the codes: shared/vectors/verify/timestamp-steps.json). A code this page
 * does not know yet is shown as data, not dropped.
 */
export function stepMsg(s: TimestampStep): Msg {
  const codes = Object.hasOwn(STEP_CODES, s.step) ? STEP_CODES[s.step] : undefined;
  if (!codes || !Object.hasOwn(codes, s.code)) return { key: 'verify.ts.unknown', params: { code: s.code } };
  const params: Record<string, MsgParam> = {};
  // an empty value (a TSA that gave no failure text, no TSA configured) reads "none"
  for (const [k, v] of Object.entries(s.params)) params[k] = v === '' ? [{ key: 'verify.ts.none' }] : v;
  return { key: `verify.ts.${s.step}.${s.code}` as Key, params };
}

function bad(key: Key, params?: Record<string, MsgParam>): Bad {
  return new Bad({ key, params });
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const sameKeys = (o: Json, keys: readonly string[]) => Object.keys(o).sort().join(',') === [...keys].sort().join(',');
const strict = new TextDecoder('utf-8', { fatal: true });

function text(raw: Uint8Array, file: string): string {
  try {
    return strict.decode(raw);
  } catch {
    throw bad('vb.json.notUtf8', { file });
  }
}

function json(raw: Uint8Array, file: string): unknown {
  const s = text(raw, file);
  try {
    return JSON.parse(s);
  } catch (err) {
    throw bad('vb.json.invalid', { file, reason: reason(err) });
  }
}

/** JSON that must be an object in its canonical (JCS) form, byte for byte. */
function jcs(raw: Uint8Array, file: string): Json {
  const value = json(raw, file);
  if (!isObject(value)) throw bad('vb.json.notObject', { file });
  if (canonicalText(value) !== text(raw, file)) throw bad('vb.json.notCanonical', { file });
  return value;
}

function b64urlStrict(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value)) throw bad('vb.b64url', { what });
  const raw = fromB64url(value);
  if (b64url(raw) !== value) throw bad('vb.b64url', { what });
  return raw;
}

function b64Field(value: unknown, what: string): Uint8Array {
  try {
    return b64Strict(value);
  } catch {
    throw bad('vb.b64', { what });
  }
}

const isHex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

async function importDeviceKey(jwk: Json): Promise<CryptoKey> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new Error('not an EC P-256 key');
  for (const c of ['x', 'y'] as const) {
    const v = jwk[c];
    if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(v) || b64url(fromB64url(v)) !== v) throw new Error(`${c} is not 32 bytes of base64url`);
  }
  return crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string, ext: true },
    { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
}

async function ecdsaVerify(key: CryptoKey, sig: Uint8Array, data: Uint8Array): Promise<boolean> {
  if (sig.length !== 64) return false;
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, sig as Uint8Array<ArrayBuffer>, data as Uint8Array<ArrayBuffer>);
}

const sha256Hex = async (data: Uint8Array) => hex(await sha256(data));

// -- transcripts (core/transcript.py: the document's schema and rules) --------
const TRANSCRIPT_TYPE = 'fieldproof.transcript'; // the document's type and its log leaf's
const MAX_TRANSCRIPT_BYTES = 2 * 1024 * 1024;
const MAX_MS = 864_000_000;
const TRANSCRIPT_MEMBERS = ['v', 'type', 'capture_id', 'manifest_sha256', 'media_sha256', 'version', 'prev', 'origin',
  'based_on', 'language', 'created_at', 'signer', 'engine', 'segments', 'key_points'];
const ENGINE_MEMBERS = ['name', 'version', 'model', 'model_sha256', 'language_probability', 'vad', 'beam_size', 'duration_ms'];
const LOG_LINE_MEMBERS = ['version', 'entry', 'leaf_index', 'inclusion_proof'];
const chars = (s: string) => Array.from(s).length;
const isMs = (v: unknown) => isInt(v) && v >= 0 && v <= MAX_MS;
const isText = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && chars(v) >= min && chars(v) <= max;
const intIn = (v: unknown, min: number, max: number) => isInt(v) && v >= min && v <= max;

/** Where a transcript document breaks its schema or rules (a JSON pointer), or null (core/transcript.py parse_transcript). */
function transcriptProblem(d: Json): string | null {
  const missing = TRANSCRIPT_MEMBERS.find((k) => !(k in d)) ?? Object.keys(d).find((k) => !TRANSCRIPT_MEMBERS.includes(k));
  if (missing) return `/${missing}`;
  if (d.v !== 1) return '/v';
  if (d.type !== TRANSCRIPT_TYPE) return '/type';
  if (typeof d.capture_id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(d.capture_id)) return '/capture_id';
  for (const k of ['manifest_sha256', 'media_sha256']) if (!isHex64(d[k])) return `/${k}`;
  if (!intIn(d.version, 1, 100_000)) return '/version';
  for (const k of ['prev', 'based_on']) if (d[k] !== null && !isHex64(d[k])) return `/${k}`;
  if (d.origin !== 'machine' && d.origin !== 'human') return '/origin';
  if (d.language !== null && !(typeof d.language === 'string' && d.language.length <= 16 && /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$/.test(d.language))) return '/language';
  if (typeof d.created_at !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(d.created_at)) return '/created_at';
  const signer = d.signer;
  if (!isObject(signer) || !sameKeys(signer, ['key_id']) || typeof signer.key_id !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(signer.key_id)) return '/signer';
  const e = d.engine;
  if (e !== null) {
    if (!isObject(e) || Object.keys(e).some((k) => !ENGINE_MEMBERS.includes(k)) || !isText(e.name, 0, 64) || !isText(e.version, 0, 32) ||
      !isText(e.model, 0, 64) || ('model_sha256' in e && !isHex64(e.model_sha256)) ||
      ('language_probability' in e && !intIn(e.language_probability, 0, 1000)) || ('vad' in e && typeof e.vad !== 'boolean') ||
      ('beam_size' in e && !intIn(e.beam_size, 1, 10)) || ('duration_ms' in e && !isMs(e.duration_ms))) return '/engine';
  }
  if (!Array.isArray(d.segments) || d.segments.length > 5000) return '/segments';
  let last = -1;
  for (const [i, seg] of (d.segments as unknown[]).entries()) {
    if (!isObject(seg) || !sameKeys(seg, ['start_ms', 'end_ms', 'text', 'speaker']) || !isMs(seg.start_ms) || !isMs(seg.end_ms) ||
      !isText(seg.text, 0, 2000) || (seg.speaker !== null && !isText(seg.speaker, 1, 64))) return `/segments/${i}`;
    if ((seg.end_ms as number) < (seg.start_ms as number) || (seg.start_ms as number) < last) return `/segments/${i}`; // in time order
    last = seg.start_ms as number;
  }
  if (!Array.isArray(d.key_points) || d.key_points.length > 500) return '/key_points';
  for (const [i, kp] of (d.key_points as unknown[]).entries()) {
    if (!isObject(kp) || !sameKeys(kp, ['start_ms', 'end_ms', 'label']) || !isMs(kp.start_ms) || !isMs(kp.end_ms) ||
      !isText(kp.label, 1, 200) || (kp.end_ms as number) < (kp.start_ms as number)) return `/key_points/${i}`;
  }
  if (d.origin === 'machine' && d.based_on !== null) return '/based_on'; // a machine version starts from the recording
  if (d.origin === 'human' && d.engine !== null) return '/engine';
  if ((d.version === 1) !== (d.prev === null)) return '/prev'; // only version 1 has no previous version
  return null;
}

// -- continuity (core/continuity.py: the numbers; bundle/chunks.py check_continuity: the verdict)
const GAP_FACTOR = 3;
const GAP_FLOOR_MS = 5000;
const RFC3339_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** Microseconds since the epoch of an RFC 3339 time with its offset, as parse_time reads it (digits past µs dropped). */
function parseMicros(value: unknown, what: string): number {
  const m = typeof value === 'string' ? RFC3339_TIME.exec(value) : null;
  const ms = m ? Date.parse(m[1] + (m[3] === 'Z' ? 'Z' : m[3])) : NaN;
  if (!m || Number.isNaN(ms)) throw new Error(`${what}: not an RFC 3339 time: ${String(value)}`);
  return ms * 1000 + Number((m[2] ?? '').slice(0, 6).padEnd(6, '0'));
}

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const msBetween = (a: number, b: number) => roundHalfEven((b - a) / 1000);
const utcText = (micros: number) => new Date(Math.floor(micros / 1000)).toISOString();
/** Milliseconds as seconds with one decimal, as Python's f"{ms / 1000:.1f}". */
function seconds1(ms: number): string {
  const tenths = roundHalfEven(ms / 100);
  const sign = tenths < 0 ? '-' : '';
  const a = Math.abs(tenths);
  return `${sign}${Math.floor(a / 10)}.${a % 10}`;
}

/** statistics.median, then round(). */
function medianRounded(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return roundHalfEven(v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2);
}

/** int() of a chunk header's seq, as Python takes it: an integer, or digits. */
function seqOf(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) return Number(value);
  if (typeof value === 'boolean') return Number(value);
  throw new Error(`seq: ${String(value)} is not a number`);
}

interface Pause {
  from: string;
  to: string;
  ms: number;
}

/** core/continuity.py continuity(), the parts a bundle can say (no server receipt times). */
function continuityOf(startedAt: unknown, chunks: { seq: number; at: number }[], endedAt: unknown) {
  const start = parseMicros(startedAt, 'started_at');
  const ordered = [...chunks].sort((a, b) => a.seq - b.seq);
  const times = ordered.map((c) => c.at);
  const end = endedAt ? parseMicros(endedAt, 'captured.end') : times.length ? times[times.length - 1] : start;
  const steps = times.map((t, k) => msBetween(k ? times[k - 1] : start, t));
  const interval = steps.length > 1 ? medianRounded(steps.slice(1)) : steps.length ? steps[0] : 0;
  const threshold = Math.max(GAP_FLOOR_MS, roundHalfEven(GAP_FACTOR * Math.max(interval, 1)));
  const pauses: Pause[] = [];
  let before = start;
  let backwards = 0;
  for (const t of times) {
    const step = msBetween(before, t);
    if (step < 0) backwards++;
    if (step > threshold) pauses.push({ from: utcText(before), to: utcText(t), ms: step });
    before = t;
  }
  // After the last chunk, nothing until the stated end: a pause at the end.
  const tail = msBetween(before, end);
  if (endedAt && times.length && tail > threshold) pauses.push({ from: utcText(before), to: utcText(end), ms: tail });
  return { start, deviceStart: utcText(start), deviceEnd: utcText(end), wallMs: Math.max(0, msBetween(start, end)),
    chunks: ordered.length, intervalMs: interval, pauses, backwards };
}

class Verify {
  checks: Check[] = [];
  names: string[] = [];
  nameSet = new Set<string>();
  files = new Map<string, Uint8Array>();
  digests = new Map<string, string>();
  sizes = new Map<string, number>(); // of members hashed in slices (STREAMED)
  mediaName = '';
  media: MediaDigest & { error?: Msg } = { sha256: '', size: 0, slices: [], ms: 0 };
  manifest: Json = {};
  manifestOk = false;
  device: CryptoKey | null = null;
  deviceKeyId = '';
  entry: Json = {};
  chunkSizes: number[] = [];
  checkpoint: Checkpoint | null = null;
  logKey: VerifierKey | null = null;

  constructor(readonly source: BundleSource, readonly opts: VerifyOptions) {}

  add(name: string, status: Status, msg: Msg, extra: Partial<Check> = {}): void {
    this.checks.push({ name, status, msg, ...extra });
  }

  async run(name: string, fn: () => Promise<Msg>): Promise<void> {
    try {
      this.add(name, 'pass', await fn());
    } catch (err) {
      if (err instanceof Bad) this.add(name, 'fail', err.msg);
      else if (err instanceof DOMException && err.name === 'AbortError') throw err;
      else this.add(name, 'fail', { key: 'vb.error', params: { reason: reason(err) } });
    }
  }

  /** A check whose own work is done elsewhere: its preconditions fail here, else it is 'info'. */
  async runElsewhere(name: string, fn: () => Promise<Msg>): Promise<void> {
    const before = this.checks.length;
    await this.run(name, fn);
    const line = this.checks[before];
    if (line?.status === 'pass') line.status = 'info';
  }

  need(name: string): Uint8Array {
    const data = this.files.get(name);
    if (!data) throw bad('vb.missing', { file: name });
    return data;
  }

  get partial(): boolean {
    return this.manifest.type === 'fieldproof.stream';
  }

  get keyId(): string {
    const device = this.manifest.device;
    return isObject(device) ? String(device.key_id) : '';
  }

  // -- reading -------------------------------------------------------------
  /** As the reference's load(): the caps first, then what makes a bundle, then every small file. */
  async load(): Promise<void> {
    const names = this.source.names();
    if (names.length > MAX_FILES) throw new BundleUnusable({ key: 'vb.unusable.tooMany', params: { n: names.length, max: MAX_FILES } });
    const seen = new Map<string, number>();
    for (const n of names) seen.set(n, (seen.get(n) ?? 0) + 1);
    const dupes = [...seen].filter(([, k]) => k > 1).map(([n]) => n).sort();
    if (dupes.length) throw new BundleUnusable({ key: 'vb.unusable.dupes', params: { files: dupes.join(', ') } });
    this.names = [...names].sort();
    this.nameSet = new Set(names);
    const missing = REQUIRED.filter((n) => !this.nameSet.has(n));
    if (missing.length) throw new BundleUnusable({ key: 'vb.unusable.missing', params: { files: missing.join(', ') } });
    const media = names.filter((n) => n.startsWith(MEDIA_DIR));
    if (media.length !== 1) throw new BundleUnusable({ key: 'vb.unusable.media', params: { n: media.length } });
    this.mediaName = media[0];
    // a web capture's large files (WARC, stream) are hashed in slices like the media
    for (const name of this.names.filter((n) => STREAMED.has(n))) {
      try {
        const d = await hashBlob(await this.source.blob(name), { signal: this.opts.signal });
        this.digests.set(name, d.sha256);
        this.sizes.set(name, d.size);
      } catch (err) {
        if (err instanceof DOMException && err.name === 'AbortError') throw err;
        this.add('read', 'fail', { key: 'vb.read.failed', params: { file: name, reason: reason(err) } });
      }
    }
    const small = this.names.filter((n) => n !== this.mediaName && !STREAMED.has(n));
    // What the zip directory declares, before inflating anything (the same verdict, sooner).
    const declared = small.map((n) => this.source.declaredSize?.(n));
    const declaredTotal = declared.reduce<number>((sum, size) => sum + (size !== undefined && size <= MAX_SMALL_FILE ? size : 0), 0);
    if (declaredTotal > MAX_SMALL_TOTAL) throw new BundleUnusable({ key: 'vb.unusable.inflated', params: { max: MAX_SMALL_TOTAL } });
    let total = 0;
    for (const [i, name] of small.entries()) {
      const size = declared[i];
      if (size !== undefined && size > MAX_SMALL_FILE) {
        this.add('read', 'fail', { key: 'vb.read.tooLarge', params: { file: name, max: MAX_SMALL_FILE } });
        continue;
      }
      let data: Uint8Array;
      try {
        data = await this.source.read(name, MAX_SMALL_FILE);
      } catch (err) {
        this.add('read', 'fail', { key: 'vb.read.failed', params: { file: name, reason: reason(err) } });
        continue;
      }
      total += data.length;
      if (total > MAX_SMALL_TOTAL) throw new BundleUnusable({ key: 'vb.unusable.inflated', params: { max: MAX_SMALL_TOTAL } });
      this.files.set(name, data);
      this.digests.set(name, await sha256Hex(data));
    }
  }

  parseChunks(): void {
    const raw = this.files.get(CHUNKS);
    if (!raw) return;
    try {
      const body = json(raw, CHUNKS);
      const chunks = isObject(body) ? body.chunks : null;
      if (Array.isArray(chunks) && chunks.every((c) => isObject(c) && isInt(c.size) && c.size >= 0)) {
        this.chunkSizes = chunks.map((c) => (c as Json).size as number);
      }
    } catch {
      this.chunkSizes = [];
    }
  }

  async hashMedia(): Promise<void> {
    try {
      const blob = await this.source.blob(this.mediaName);
      this.media = await hashBlob(blob, {
        chunkSizes: this.files.has(CHUNKS) ? this.chunkSizes : undefined,
        onProgress: this.opts.onProgress,
        signal: this.opts.signal,
      });
      this.digests.set(this.mediaName, this.media.sha256);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      const msg: Msg = { key: 'vb.read.failed', params: { file: this.mediaName, reason: reason(err) } };
      this.media = { sha256: '', size: 0, slices: [], ms: 0, error: msg };
      this.add('read', 'fail', msg);
    }
  }

  // -- checks --------------------------------------------------------------
  sums(): void {
    const raw = this.files.get(SUMS);
    if (!raw) return this.add('SHA256SUMS', 'fail', { key: 'vb.missing', params: { file: SUMS } });
    let s: string;
    try {
      s = strict.decode(raw);
    } catch {
      return this.add('SHA256SUMS', 'fail', { key: 'vb.json.notUtf8', params: { file: SUMS } });
    }
    const problems: Msg[] = [];
    const listed = new Map<string, string>();
    if (!s.endsWith('\n')) problems.push({ key: 'vb.sums.newline' });
    s.split('\n').slice(0, -1).forEach((line, i) => {
      const m = /^([0-9a-f]{64}) [ *]([^\r\n]+)$/.exec(line);
      if (!m) return void problems.push({ key: 'vb.sums.line', params: { line: i + 1 } });
      if (listed.has(m[2])) problems.push({ key: 'vb.sums.twice', params: { file: m[2] } });
      listed.set(m[2], m[1]);
    });
    for (const name of this.names) {
      if (name === SUMS || name === SUMS_SIGNATURE) continue; // the list, and the signature over it
      if (!listed.has(name)) problems.push({ key: 'vb.sums.unlisted', params: { file: name } });
      else if (this.digests.has(name) && this.digests.get(name) !== listed.get(name)) problems.push({ key: 'vb.sums.differs', params: { file: name } });
    }
    for (const name of listed.keys()) {
      if (!this.nameSet.has(name) || name === SUMS || name === SUMS_SIGNATURE) problems.push({ key: 'vb.sums.extra', params: { file: name } });
    }
    if (problems.length) problems.forEach((p) => this.add('SHA256SUMS', 'fail', p));
    else this.add('SHA256SUMS', 'pass', { key: 'vb.sums.ok', params: { n: listed.size } });
  }

  async checkManifest(): Promise<Msg> {
    this.manifest = jcs(this.need(MANIFEST), MANIFEST);
    const type = this.manifest.type;
    if (type !== 'fieldproof.capture' && type !== 'fieldproof.stream') throw bad('vb.manifest.type', { type: String(type) });
    this.manifestOk = true;
    const digest = await sha256Hex(this.need(MANIFEST));
    return this.partial
      ? { key: 'vb.manifest.partial', params: { sha256: digest } }
      : { key: 'vb.manifest.ok', params: { v: String(this.manifest.v), kind: String(this.manifest.kind), sha256: digest } };
  }

  async checkDeviceKey(): Promise<Msg> {
    const jwk = jcs(this.need(DEVICE_KEY), DEVICE_KEY);
    if (!sameKeys(jwk, ['crv', 'kty', 'x', 'y'])) throw bad('vb.device.members', { file: DEVICE_KEY });
    let key: CryptoKey;
    try {
      key = await importDeviceKey(jwk);
    } catch (err) {
      throw bad('vb.device.invalid', { file: DEVICE_KEY, reason: reason(err) });
    }
    if (!this.manifestOk) throw bad('vb.cannotCompare', { file: MANIFEST });
    const thumb = await thumbprint(jwk);
    if (thumb !== this.keyId) throw bad('vb.device.mismatch', { file: DEVICE_KEY, thumb, keyId: this.keyId });
    this.device = key;
    this.deviceKeyId = thumb;
    return { key: 'vb.device.ok', params: { keyId: thumb } };
  }

  async checkSignature(): Promise<Msg> {
    const sig = this.need(SIGNATURE);
    if (!this.device) throw bad('vb.signature.noKey');
    if (sig.length !== 64) throw bad('vb.signature.length', { file: SIGNATURE, n: sig.length });
    if (!(await ecdsaVerify(this.device, sig, this.need(MANIFEST)))) throw bad('vb.signature.bad', { file: SIGNATURE, keyId: this.deviceKeyId });
    return { key: 'vb.signature.ok', params: { keyId: this.deviceKeyId, file: MANIFEST } };
  }

  async checkLogEntry(): Promise<void> {
    let e: Json;
    try {
      e = this.entry = jcs(this.need(LOG_ENTRY), LOG_ENTRY);
    } catch (err) {
      if (err instanceof Bad) return this.add('log_entry', 'fail', err.msg);
      throw err;
    }
    const problems: Key[] = [];
    if (e.type !== 'fieldproof.capture' || e.v !== 1) problems.push('vb.entry.type');
    if (e.manifest_sha256 !== (await sha256Hex(this.files.get(MANIFEST) ?? new Uint8Array()))) problems.push('vb.entry.manifest');
    if (e.signature !== b64url(this.files.get(SIGNATURE) ?? new Uint8Array())) problems.push('vb.entry.signature');
    if (e.key_id !== this.keyId) problems.push('vb.entry.keyId');
    const media = isObject(this.manifest.media) ? this.manifest.media : {};
    if (!this.partial && e.media_sha256 !== media.sha256) problems.push('vb.entry.media');
    const stream = e.stream;
    if (this.partial && !(isObject(stream) && stream.partial === true)) problems.push('vb.entry.notPartial');
    if (!this.partial && isObject(this.manifest.stream)) {
      const want = { ...this.manifest.stream, partial: false };
      if (!isObject(stream) || canonicalText(stream) !== canonicalText(want)) problems.push('vb.entry.stream');
    }
    if (this.files.has(CHUNKS) !== ('stream' in e)) problems.push('vb.entry.chunks');
    if (problems.length) return problems.forEach((key) => this.add('log_entry', 'fail', { key }));
    this.add('log_entry', 'pass', {
      key: 'vb.entry.ok',
      params: {
        manifest: String(e.manifest_sha256).slice(0, 16),
        keyId: String(e.key_id),
        media: String(e.media_sha256).slice(0, 16),
        received: String(e.received_at),
      },
    });
  }

  async checkMedia(): Promise<Msg> {
    if (this.media.error) throw new Bad(this.media.error);
    if (!this.manifestOk) throw bad('vb.cannotCompare', { file: MANIFEST });
    const file = this.mediaName;
    const ok = { file, size: this.media.size, sha256: this.media.sha256 };
    if (this.partial) {
      const want = this.entry.media_sha256;
      if (this.media.sha256 !== want) throw bad('vb.media.hashEntry', { file, got: this.media.sha256, want: String(want) });
      return { key: 'vb.media.okPartial', params: ok };
    }
    const media = isObject(this.manifest.media) ? this.manifest.media : {};
    if (this.media.sha256 !== media.sha256) throw bad('vb.media.hash', { file, got: this.media.sha256, want: String(media.sha256) });
    if (this.media.size !== media.size) throw bad('vb.media.size', { file, got: this.media.size, want: String(media.size) });
    return { key: 'vb.media.ok', params: ok };
  }

  async checkChunks(): Promise<Msg> {
    const raw = this.need(CHUNKS);
    if (!this.device) throw bad('vb.chunks.noKey');
    const body = json(raw, CHUNKS);
    if (!isObject(body) || !sameKeys(body, ['chunks', 'header_signature', 'stream_header'])) throw bad('vb.chunks.shape', { file: CHUNKS });
    if (canonicalText(body) !== text(raw, CHUNKS)) throw bad('vb.json.notCanonical', { file: CHUNKS });
    if (typeof body.stream_header !== 'string') throw bad('vb.chunks.headerText');
    const headerRaw = utf8.encode(body.stream_header);
    const header = jcs(headerRaw, 'stream_header');
    const streamId = await sha256Hex(headerRaw);
    const headerSig = b64urlStrict(body.header_signature, 'header_signature');
    if (!isObject(header.device) || header.device.key_id !== this.keyId) throw bad('vb.chunks.otherDevice');
    if (!(await ecdsaVerify(this.device, headerSig, headerRaw))) throw bad('vb.chunks.headerSig');
    let headClaim: unknown;
    let countClaim: unknown;
    if (this.partial) {
      if (!equalBytes(headerRaw, this.files.get(MANIFEST) ?? new Uint8Array())) throw bad('vb.chunks.headerDiffers');
      if (!equalBytes(headerSig, this.files.get(SIGNATURE) ?? new Uint8Array())) throw bad('vb.chunks.sigDiffers');
      const s = isObject(this.entry.stream) ? this.entry.stream : {};
      headClaim = s.chain_head;
      countClaim = s.chunks;
    } else {
      const s = isObject(this.manifest.stream) ? this.manifest.stream : {};
      if (s.id !== streamId) throw bad('vb.chunks.streamId', { claim: String(s.id), got: streamId });
      headClaim = s.chain_head;
      countClaim = s.chunks;
    }
    const chunks = body.chunks;
    if (!Array.isArray(chunks) || !chunks.length) throw bad('vb.chunks.none');
    if (this.media.error) throw new Bad(this.media.error);
    const total = chunks.reduce((n: number, c: unknown) => n + (isObject(c) && isInt(c.size) ? c.size : 0), 0);
    if (this.media.slices.length !== chunks.length || total !== this.media.size) {
      throw bad('vb.chunks.sizes', { file: this.mediaName, size: this.media.size });
    }
    let chain = fromHex(streamId);
    for (let seq = 0; seq < chunks.length; seq++) {
      const c = chunks[seq] as unknown;
      if (!isObject(c) || !sameKeys(c, CHUNK_MEMBERS)) throw bad('vb.chunks.chunkShape', { seq });
      if (typeof c.header !== 'string') throw bad('vb.chunks.chunkText', { seq });
      const headRaw = utf8.encode(c.header);
      const head = jcs(headRaw, `chunk ${seq} header`);
      if (head.type !== 'fieldproof.chunk' || head.stream !== streamId) throw bad('vb.chunks.notThisStream', { seq, stream: streamId });
      for (const k of ['seq', 'size', 'sha256', 'chain']) {
        if (head[k] !== c[k]) throw bad('vb.chunks.field', { seq, field: k });
      }
      if (c.seq !== seq) throw bad('vb.chunks.seq', { seq, got: String(c.seq) });
      let sig: Uint8Array;
      try {
        sig = b64urlStrict(c.signature, `chunk ${seq} signature`);
      } catch {
        throw bad('vb.chunks.chunkSig', { seq });
      }
      if (!(await ecdsaVerify(this.device, sig, headRaw))) throw bad('vb.chunks.chunkSig', { seq });
      if (!isHex64(c.sha256)) throw bad('vb.chunks.chunkHash', { seq });
      if (this.media.slices[seq] !== c.sha256) {
        throw bad('vb.chunks.bytes', { seq, file: this.mediaName, got: this.media.slices[seq], want: c.sha256 });
      }
      chain = await nextChain(chain, seq, fromHex(c.sha256));
      if (hex(chain) !== c.chain) throw bad('vb.chunks.chain', { seq });
    }
    if (countClaim !== chunks.length || headClaim !== hex(chain)) {
      throw bad(this.partial ? 'vb.chunks.headEntry' : 'vb.chunks.headManifest',
        { n: chunks.length, head: hex(chain), count: String(countClaim), claim: String(headClaim) });
    }
    if (this.partial) {
      const last = isObject(this.entry.stream) ? this.entry.stream.last_chunk_signature : undefined;
      let same = false;
      try {
        same = last !== undefined && equalBytes(b64Strict(last), b64urlStrict((chunks[chunks.length - 1] as Json).signature, 'signature'));
      } catch {
        same = false;
      }
      if (!same) throw bad('vb.chunks.lastSig');
    }
    return { key: this.partial ? 'vb.chunks.okEntry' : 'vb.chunks.okManifest', params: { stream: streamId, n: chunks.length, head: hex(chain) } };
  }

  /**
   * Is the recording continuous, by the device's own signed chunk times
   * (bundle/chunks.py check_continuity): its start and end, each pause, and the
   * clock never going back. Network cuts are the server's to say (its receipt
   * times are not in a bundle).
   */
  checkContinuity(): Msg {
    const body = json(this.need(CHUNKS), CHUNKS);
    const unreadable = (err: unknown) => bad('vb.continuity.unreadable', { reason: reason(err) });
    if (!isObject(body) || typeof body.stream_header !== 'string') throw unreadable(new Error('no stream_header text'));
    const header = jcs(utf8.encode(body.stream_header), 'stream_header');
    if (!Array.isArray(body.chunks)) throw unreadable(new Error('chunks is not a list'));
    const heads = body.chunks.map((c: unknown) => {
      if (!isObject(c) || typeof c.header !== 'string') throw unreadable(new Error('a chunk has no header text'));
      return jcs(utf8.encode(c.header), 'chunk header');
    });
    let c: ReturnType<typeof continuityOf>;
    let times: { seq: number; at: number }[];
    try {
      times = heads.map((h) => ({ seq: seqOf(h.seq), at: parseMicros(h.at, 'at') }));
      const captured = isObject(this.manifest.captured) ? this.manifest.captured : {};
      c = continuityOf(header.started_at, times, this.partial ? null : captured.end);
    } catch (err) {
      throw unreadable(err);
    }
    if (c.backwards) throw bad('vb.continuity.backwards', { n: c.backwards });
    if (times.length && times[0].at - c.start < -1_000_000) throw bad('vb.continuity.beforeStart');
    const continues = header.continues;
    const params: Record<string, MsgParam> = {
      start: c.deviceStart, end: c.deviceEnd, seconds: seconds1(c.wallMs), chunks: c.chunks, interval: c.intervalMs,
      interrupted: this.partial ? 1 : 0, joined: continues ? 1 : 0, continues: continues ? String(continues) : '',
    };
    if (!c.pauses.length) return { key: 'vb.continuity.continuous', params };
    params.pauses = c.pauses.map((p) => ({ key: 'vb.continuity.pause', params: { from: p.from, to: p.to, seconds: seconds1(p.ms) } }));
    return { key: 'vb.continuity.paused', params };
  }

  /** keys/log.vkey, or the pinned key (which keys/log.vkey, if present, must be): bundle/verify.py check_log_key. */
  async checkLogKey(): Promise<VerifierKey> {
    const raw = this.files.get(LOG_VKEY);
    let bundled: VerifierKey | null = null;
    if (raw) {
      try {
        bundled = await parseVkey(text(raw, LOG_VKEY));
      } catch (err) {
        if (err instanceof Bad) throw err;
        throw bad('vb.logKey.invalid', { file: LOG_VKEY, reason: reason(err) });
      }
      if (!equalBytes(raw, utf8.encode(bundled.vkey + '\n'))) throw bad('vb.logKey.oneLine', { file: LOG_VKEY });
    }
    if (this.opts.logVkey) {
      const pinned = await parseVkey(this.opts.logVkey);
      if (bundled && bundled.vkey !== pinned.vkey) this.add('log_key', 'fail', { key: 'vb.logKey.notPinned', params: { file: LOG_VKEY } });
      else this.add('log_key', 'pass', { key: 'vb.logKey.pinned', params: { fp: `sha256:${pinned.fingerprint}` } });
      return pinned;
    }
    if (!bundled) throw bad('vb.logKey.missing', { file: LOG_VKEY });
    this.add('log_key', 'pass', { key: 'vb.logKey.ok', params: { file: LOG_VKEY, name: bundled.name, fp: `sha256:${bundled.fingerprint}` } });
    return bundled;
  }

  async checkCheckpoint(): Promise<void> {
    let key: VerifierKey;
    try {
      key = await this.checkLogKey();
    } catch (err) {
      this.add('log_key', 'fail', err instanceof Bad ? err.msg : { key: 'vb.error', params: { reason: reason(err) } });
      return this.add('checkpoint', 'fail', { key: 'vb.checkpoint.noKey' });
    }
    if (this.opts.serverVkey) {
      if (this.opts.serverVkey.trim() === key.vkey) this.add('log_key', 'pass', { key: 'vb.logKey.server' });
      else this.add('log_key', 'skip', { key: 'vb.logKey.otherServer', params: { name: key.name } });
    }
    let opened: Awaited<ReturnType<typeof openCheckpoint>>;
    try {
      opened = await openCheckpoint(this.need(CHECKPOINT), key);
    } catch (err) {
      if (err instanceof Bad) return this.add('checkpoint', 'fail', err.msg);
      return this.add('checkpoint', 'fail', { key: 'vb.checkpoint.invalid', params: { file: CHECKPOINT, reason: err instanceof NoteError ? err.message : reason(err) } });
    }
    const cp = opened.checkpoint;
    if (cp.origin !== key.name) return this.add('checkpoint', 'fail', { key: 'vb.checkpoint.origin', params: { origin: cp.origin, name: key.name } });
    this.checkpoint = cp;
    this.logKey = key;
    const params = { file: CHECKPOINT, name: key.name, size: cp.size, root: b64Text(cp.root) };
    if (opened.verified === null) this.add('checkpoint', 'skip', { key: 'vb.checkpoint.noEd25519', params });
    else this.add('checkpoint', 'pass', { key: 'vb.checkpoint.ok', params });
  }

  async checkReceipt(): Promise<Msg> {
    const receipt = json(this.need(RECEIPT), RECEIPT);
    if (!isObject(receipt) || !sameKeys(receipt, RECEIPT_MEMBERS)) throw bad('vb.inclusion.members', { file: RECEIPT, members: RECEIPT_MEMBERS.join(', ') });
    const leaf = await leafHash(this.need(LOG_ENTRY));
    if (!equalBytes(b64Field(receipt.leaf_hash, 'leaf_hash'), leaf)) throw bad('vb.inclusion.leaf', { file: LOG_ENTRY });
    const cp = this.checkpoint;
    if (!cp) throw bad('vb.inclusion.noCheckpoint');
    if (receipt.origin !== cp.origin || receipt.tree_size !== cp.size) {
      throw bad('vb.inclusion.mismatch', { origin: String(receipt.origin), size: String(receipt.tree_size), cpOrigin: cp.origin, cpSize: cp.size });
    }
    const index = receipt.leaf_index;
    const proof = receipt.inclusion_proof;
    if (!isInt(index) || !Array.isArray(proof)) throw bad('vb.inclusion.types');
    const path = proof.map((p, i) => b64Field(p, `inclusion_proof[${i}]`));
    if (!(await verifyInclusion(index, cp.size, leaf, path, cp.root))) throw bad('vb.inclusion.proof', { index, size: cp.size });
    return { key: 'vb.inclusion.ok', params: { index, size: cp.size } };
  }

  /**
   * keys/tsa/*.pem (tsa_chain: their form, here), then timestamps/*.tsr
   * (timestamp: each token needs its TSA's chain, then the server explains it:
   * CMS is not checked in this browser). As bundle/verify.py check_timestamps.
   */
  async checkTimestamps(): Promise<void> {
    const chains = this.names.filter((n) => n.startsWith(TSA_KEY_DIR) && n.endsWith('.pem'))
      .map((file) => ({ file, stem: file.slice(TSA_KEY_DIR.length, -'.pem'.length) }))
      .sort((a, b) => (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : 0));
    const usable = new Set<string>();
    for (const { file, stem } of chains) {
      try {
        const certs = parsePemChain(this.need(file));
        usable.add(stem);
        this.add('tsa_chain', 'pass', { key: 'vb.tsaChain.ok', params: { file, n: certs.length, subject: certs[certs.length - 1].subject } });
      } catch (err) {
        if (err instanceof Bad) this.add('tsa_chain', 'fail', err.msg);
        else if (err instanceof ChainError && err.kind === 'notPem') this.add('tsa_chain', 'fail', { key: 'vb.tsaChain.notPem', params: { file } });
        else if (err instanceof ChainError && err.kind === 'notCanonical') this.add('tsa_chain', 'fail', { key: 'vb.tsaChain.notCanonical', params: { file } });
        else this.add('tsa_chain', 'fail', { key: 'vb.tsaChain.invalid', params: { file, reason: reason(err) } });
      }
    }
    const tokens = this.names.filter((n) => n.startsWith(TIMESTAMP_DIR));
    if (!tokens.length) return this.add('timestamp', 'fail', { key: 'vb.timestamp.none' });
    let note: string | null = null;
    try {
      note = text(this.need(CHECKPOINT), CHECKPOINT);
    } catch (err) {
      if (!(err instanceof Bad)) throw err;
    }
    for (const file of tokens) {
      const stem = file.slice(TIMESTAMP_DIR.length).replace(/\.tsr$/, '');
      const token = this.files.get(file);
      if (!file.endsWith('.tsr')) {
        this.add('timestamp', 'fail', { key: 'vb.timestamp.ext', params: { file } });
        continue;
      }
      if (!usable.has(stem)) {
        this.add('timestamp', 'fail', { key: 'vb.timestamp.noAnchor', params: { file, chain: `${TSA_KEY_DIR}${stem}.pem` } });
        continue;
      }
      if (!token || note === null) {
        this.add('timestamp', 'fail', { key: 'vb.missing', params: { file: token ? CHECKPOINT : file } });
        continue;
      }
      if (!this.opts.timestamp) {
        this.add('timestamp', 'info', { key: 'vb.timestamp.notInBrowser', params: { file } });
        continue;
      }
      let ex: TimestampExplanation;
      try {
        ex = await this.opts.timestamp(token, note);
      } catch (err) {
        if (err instanceof DOMException && err.name === 'AbortError') throw err;
        this.add('timestamp', 'skip', { key: 'vb.timestamp.unreachable', params: { file, reason: reason(err) } });
        continue;
      }
      const failed = ex.steps.find((s) => !s.ok);
      if (ex.ok && !failed) {
        this.add('timestamp', 'pass', { key: ex.embedded ? 'vb.timestamp.okEmbedded' : 'vb.timestamp.ok', params: { file, tsa: ex.tsa ?? '?', genTime: ex.gen_time ?? '?' } },
          { steps: ex.steps, embedded: ex.embedded });
      } else {
        this.add('timestamp', 'fail', { key: 'vb.timestamp.failed', params: { file, step: failed?.step ?? '?', detail: failed ? [stepMsg(failed)] : [] } },
          { steps: ex.steps, embedded: ex.embedded });
      }
    }
  }

  /** keys/server-ca.pem: exactly one PEM certificate, well-formed (bundle/verify.py check_certificate). */
  serverCa(): CertSummary {
    const raw = this.need(SERVER_CA);
    const s = text(raw, SERVER_CA);
    const blocks = splitPem(s);
    if (blocks.length !== 1 || blocks[0] !== s) throw bad('vb.certificate.caNotOne', { file: SERVER_CA });
    try {
      return parseCertificate(pemDer(blocks[0]));
    } catch (err) {
      throw bad('vb.certificate.caInvalid', { file: SERVER_CA, reason: reason(err) });
    }
  }

  /** SHA256SUMS.p7s: present, with a well-formed server CA; its CMS signature and timestamp are not checked here. */
  async checkSumsSignature(): Promise<Msg> {
    const ca = this.serverCa();
    this.need(SUMS_SIGNATURE);
    return { key: 'vb.sumsSignature.notInBrowser', params: { file: SUMS_SIGNATURE, ca: ca.subject } };
  }

  /** web/: every file the signed manifest lists, with its SHA-256 and size; no other (bundle/web.py). */
  async checkWebFiles(): Promise<Msg> {
    const web = this.manifest.web;
    const files = isObject(web) && Array.isArray(web.files) ? web.files : null;
    if (!files) throw bad('vb.web.noList', {});
    const listed = new Map<string, Record<string, unknown>>();
    for (const f of files) if (isObject(f)) listed.set(WEB_DIR + String(f.name), f);
    const present = this.names.filter((n) => n.startsWith(WEB_DIR));
    for (const [name, f] of [...listed].sort()) {
      if (!this.nameSet.has(name)) throw bad('vb.web.missing', { file: name });
      if (this.digests.get(name) !== f.sha256) throw bad('vb.web.hash', { file: name });
      const size = this.sizes.get(name) ?? this.files.get(name)?.length;
      if (size !== f.size) throw bad('vb.web.size', { file: name });
    }
    const extra = present.filter((n) => !listed.has(n));
    if (extra.length) throw bad('vb.web.extra', { file: extra[0] });
    const w = web as Record<string, unknown>;
    return { key: 'vb.web.ok', params: { n: listed.size, url: String(w.url ?? ''), mode: String(w.mode ?? '') } };
  }

  /** keys/web-recorder.pem: present and under the server CA; its signature is checked by `fieldproof verify`. */
  async checkWebRecorder(): Promise<Msg> {
    const ca = this.serverCa();
    this.need(WEB_RECORDER_CERT);
    if (this.manifest.kind !== 'web') throw bad('vb.web.notWeb', {});
    return { key: 'vb.web.recorderNotInBrowser', params: { file: WEB_RECORDER_CERT, ca: ca.subject } };
  }

  /** certificate.pdf: what needs no PDF or CMS stack is checked; its PAdES signature is not, here. */
  async checkCertificate(): Promise<Msg> {
    const ca = this.serverCa();
    this.need(CERTIFICATE);
    return { key: 'vb.certificate.notInBrowser', params: { file: CERTIFICATE, ca: ca.subject } };
  }

  /** A C2PA-credentialed copy: a format C2PA carries and a server CA to trust it under; C2PA itself is not read here. */
  async checkCredentials(file: string): Promise<Msg> {
    const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
    if (!C2PA_EXTENSIONS.includes(ext)) throw bad('vb.credentials.format', { file });
    if (!this.files.has(SERVER_CA)) throw bad('vb.credentials.noCa', { file: SERVER_CA });
    this.need(file);
    return { key: 'vb.credentials.notInBrowser', params: { file } };
  }

  /** Every file is one the layout knows: nothing rides along unchecked. */
  async checkLayout(): Promise<Msg> {
    const extra = this.names.filter((n) => !isMember(n, this.mediaName));
    if (extra.length) throw bad('vb.layout.extra', { files: extra.slice(0, 10).join(', ') });
    const conveniences = this.names.filter((n) => CONVENIENCES.includes(n));
    return conveniences.length
      ? { key: 'vb.layout.okConveniences', params: { n: this.names.length, files: conveniences.join(', ') } }
      : { key: 'vb.layout.ok', params: { n: this.names.length } };
  }

  /** custody-checkpoint.txt: signed by the log key and consistent with checkpoint.txt. */
  async custodyCheckpoint(): Promise<Checkpoint | null> {
    if (!this.nameSet.has(CUSTODY_CHECKPOINT)) return null;
    if (!this.checkpoint || !this.logKey) throw bad('vb.custody.noCheckpoint');
    let cp: Checkpoint;
    try {
      const opened = await openCheckpoint(this.need(CUSTODY_CHECKPOINT), this.logKey);
      if (opened.verified === null) throw new NoteError('this browser has no Ed25519');
      cp = opened.checkpoint;
    } catch (err) {
      if (err instanceof Bad) throw err;
      throw bad('vb.custody.cpInvalid', { file: CUSTODY_CHECKPOINT, reason: reason(err) });
    }
    if (cp.origin !== this.checkpoint.origin) throw bad('vb.custody.cpOrigin', { file: CUSTODY_CHECKPOINT, origin: cp.origin });
    const body = jcs(this.need(CUSTODY_CONSISTENCY), CUSTODY_CONSISTENCY);
    const shape = { file: CUSTODY_CONSISTENCY, first: this.checkpoint.size, second: cp.size };
    if (!sameKeys(body, ['consistency_proof', 'first', 'second']) || body.first !== this.checkpoint.size || body.second !== cp.size ||
      !Array.isArray(body.consistency_proof)) throw bad('vb.custody.consistencyShape', shape);
    const proof = body.consistency_proof.map((p, i) => b64Field(p, `consistency_proof[${i}]`));
    const err = await consistencyError(this.checkpoint.size, cp.size, this.checkpoint.root, cp.root, proof);
    if (err) throw bad('vb.custody.consistency', { file: CUSTODY_CHECKPOINT, base: CHECKPOINT, reason: err });
    return cp;
  }

  /** Each custody record: bound to this capture, and its leaf in the log (as bundle/verify.py). */
  async checkCustody(): Promise<Msg> {
    const s = text(this.need(CUSTODY), CUSTODY);
    if (!s.endsWith('\n')) throw bad('vb.custody.noNewline', { file: CUSTODY });
    const lines = s.split('\n').slice(0, -1);
    if (!lines.length) throw bad('vb.custody.empty', { file: CUSTODY });
    const cp = await this.custodyCheckpoint();
    if (!cp) throw bad('vb.custody.cpMissing', { file: CUSTODY_CHECKPOINT });
    const manifestSha = await sha256Hex(this.files.get(MANIFEST) ?? new Uint8Array());
    const events: string[] = [];
    let proven = 0;
    let lastIndex = -1;
    let pendingFrom = 0; // the first unproven line: every later one must be unproven too
    // The hash chain (core/logentry.py chain_hash): each record's prev is SHA-256 of the
    // previous record's log-entry bytes, null for the first; records older than the chain
    // have no prev and can only come first.
    let unchained = 0;
    let before: string | null = null;
    for (let i = 0; i < lines.length; i++) {
      const line = i + 1;
      const item = jcs(utf8.encode(lines[i]), `${CUSTODY} line ${line}`);
      const keys = Object.keys(item);
      if (!keys.includes('record') || !keys.includes('leaf_index') || keys.some((k) => !['record', 'leaf_index', 'inclusion_proof'].includes(k))) {
        throw bad('vb.custody.lineShape', { line });
      }
      if (typeof item.record !== 'string') throw bad('vb.custody.recordText', { line });
      const recordRaw = utf8.encode(item.record);
      const rec = jcs(recordRaw, `${CUSTODY} line ${line} record`);
      if (rec.type !== CUSTODY_RECORD || rec.v !== 1) throw bad('vb.custody.recordType', { line });
      if (rec.manifest_sha256 !== manifestSha) throw bad('vb.custody.otherManifest', { line, got: String(rec.manifest_sha256), want: manifestSha });
      if (typeof rec.event !== 'string' || !CUSTODY_EVENTS.includes(rec.event)) throw bad('vb.custody.event', { line, event: String(rec.event) });
      const entry = utf8.encode(canonicalText({ v: 1, type: 'fieldproof.custody', record_sha256: await sha256Hex(recordRaw) }));
      if (!('prev' in rec)) {
        if (unchained !== i) throw bad('vb.custody.unchainedAfter', { line });
        unchained++;
      } else if (rec.prev !== before) {
        throw bad('vb.custody.chain', { line, prev: String(rec.prev) });
      }
      before = await sha256Hex(entry);
      const at = timeKey(rec.at);
      if (at === null) throw bad('vb.custody.at', { line });
      // Lines are in log order; times of concurrent requests may interleave.
      const index = item.leaf_index;
      const proof = item.inclusion_proof;
      events.push(rec.event);
      if (index === null) {
        if (proof !== undefined) throw bad('vb.custody.proofNoIndex', { line });
        pendingFrom ||= line;
        continue;
      }
      if (!isInt(index) || index <= lastIndex) throw bad('vb.custody.index', { line });
      lastIndex = index;
      if (proof === undefined) {
        if (index < cp.size) throw bad('vb.custody.noProof', { line, index });
        pendingFrom ||= line;
        continue;
      }
      if (pendingFrom) throw bad('vb.custody.proofAfterPending', { line, pending: pendingFrom });
      if (!Array.isArray(proof)) throw bad('vb.custody.proofNeedsCp', { line, file: CUSTODY_CHECKPOINT });
      // The public leaf holds only the salted record's hash (core/logentry.py).
      const leaf = await leafHash(utf8.encode(canonicalText({
        v: 1, type: 'fieldproof.custody', record_sha256: await sha256Hex(recordRaw),
      })));
      const path = proof.map((p, k) => b64Field(p, `${CUSTODY} line ${line} inclusion_proof[${k}]`));
      if (!(await verifyInclusion(index, cp.size, leaf, path, cp.root))) throw bad('vb.custody.inclusion', { line, event: rec.event, index, size: cp.size });
      proven++;
    }
    const params = { n: events.length, events: events.join(', '), proven, size: cp.size, pending: events.length - proven };
    return { key: params.pending ? 'vb.custody.okPending' : 'vb.custody.ok', params };
  }

  /**
   * transcript/: every version canonical and well formed, bound to this
   * manifest and media, numbered from 1, each `prev` the hash of the one
   * before, each `based_on` an earlier machine version, one capture; each
   * signature (a human version's by the JWK beside it, whose thumbprint is its
   * signer.key_id; a machine version's by the key in keys/transcriber.pem);
   * each log leaf rebuilt and proven into the custody checkpoint. As
   * bundle/transcript.py check_transcript, except what needs X.509 or a PDF
   * stack: that the server CA certified the transcriber key, and
   * transcript.pdf's signature (`fieldproof verify` checks both; the message
   * says so).
   */
  async checkTranscript(): Promise<Msg> {
    const numbers = [...new Set(this.names.map((n) => TRANSCRIPT_FILE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null && m[2] === 'json').map((m) => Number(m[1])))].sort((a, b) => a - b);
    if (!numbers.length) throw bad('vb.transcript.none', { dir: TRANSCRIPT_DIR });
    if (numbers.some((n, i) => n !== i + 1)) throw bad('vb.transcript.gap', { versions: numbers.map((n) => `v${n}`).join(', '), n: numbers.length });
    // a signature or key without its document (bundle/transcript.py refuses it too)
    const stray = this.names.filter((n) => { const m = TRANSCRIPT_FILE.exec(n); return m !== null && !numbers.includes(Number(m[1])); });
    if (stray.length) throw bad('vb.transcript.stray', { files: stray.join(', ') });
    const manifestSha = await sha256Hex(this.files.get(MANIFEST) ?? new Uint8Array());
    let prev: string | null = null;
    const machineHashes = new Set<string>();
    const captureIds = new Set<string>();
    const entries = new Map<number, string>();
    const machine: string[] = [];
    const human: string[] = [];
    const devices = new Set<string>();
    for (const n of numbers) {
      const file = `${TRANSCRIPT_DIR}v${n}.json`;
      const raw = this.need(file);
      if (raw.length > MAX_TRANSCRIPT_BYTES) throw bad('vb.transcript.tooLarge', { file, size: raw.length, max: MAX_TRANSCRIPT_BYTES });
      const d = json(raw, file);
      if (!isObject(d)) throw bad('vb.transcript.invalid', { file, field: '/' });
      // canonical: what was signed is what is kept, byte for byte
      if (canonicalText(d) !== text(raw, file)) throw bad('vb.transcript.notCanonical', { file });
      const field = transcriptProblem(d);
      if (field !== null) throw bad('vb.transcript.invalid', { file, field });
      if (d.version !== n) throw bad('vb.transcript.version', { file, got: String(d.version) });
      if (d.manifest_sha256 !== manifestSha) throw bad('vb.transcript.manifest', { file, got: String(d.manifest_sha256), want: manifestSha });
      if (d.media_sha256 !== this.media.sha256) throw bad('vb.transcript.media', { file, got: String(d.media_sha256), want: this.media.sha256 });
      if (d.prev !== prev) {
        throw bad(prev === null ? 'vb.transcript.prevFirst' : 'vb.transcript.prev', { file, got: String(d.prev), n: n - 1, want: prev ?? '' });
      }
      if (d.based_on !== null && !machineHashes.has(d.based_on as string)) throw bad('vb.transcript.basedOn', { file, got: String(d.based_on) });
      captureIds.add(d.capture_id as string);
      const sigFile = `${TRANSCRIPT_DIR}v${n}.sig`;
      const sig = this.need(sigFile);
      const keyId = (d.signer as Json).key_id as string;
      const key = d.origin === 'human' ? await this.transcriptDeviceKey(n, keyId) : await this.transcriberKey(n, keyId);
      if (sig.length !== 64) throw bad('vb.transcript.sigLength', { file: sigFile, n: sig.length });
      if (!(await ecdsaVerify(key, sig, raw))) throw bad('vb.transcript.sigBad', { file: sigFile, keyId, doc: file });
      const sha = await sha256Hex(raw);
      entries.set(n, canonicalText({ v: 1, type: TRANSCRIPT_TYPE, transcript_sha256: sha, signature: b64url(sig) }));
      if (d.origin === 'machine') {
        machineHashes.add(sha);
        machine.push(`v${n}`);
      } else {
        human.push(`v${n}`);
        devices.add(keyId);
      }
      prev = sha;
    }
    if (captureIds.size !== 1) throw bad('vb.transcript.captures', { ids: [...captureIds].sort().join(', ') });
    const proven = await this.checkTranscriptLog(entries);
    const pdf = this.nameSet.has(TRANSCRIPT_PDF);
    if (pdf) {
      this.serverCa(); // what the PDF's signature is checked under, by `fieldproof verify`
      this.need(TRANSCRIPT_PDF);
    }
    const own = devices.size === 1 && devices.has(this.keyId) ? 1 : 0;
    return {
      key: 'vb.transcript.ok',
      params: {
        n: numbers.length, nm: machine.length, machine: machine.join(', '), nh: human.length, human: human.join(', '),
        devices: [...devices].map((k) => `${k.slice(0, 12)}…`).join(', '), own, proven,
        cert: TRANSCRIBER_CERT, pdf: pdf ? 1 : 0, pdfFile: TRANSCRIPT_PDF,
      },
    };
  }

  /** A human version's key: transcript/v<N>.jwk, a P-256 JWK whose RFC 7638 thumbprint is the version's signer.key_id. */
  async transcriptDeviceKey(n: number, keyId: string): Promise<CryptoKey> {
    const file = `${TRANSCRIPT_DIR}v${n}.jwk`;
    const jwk = jcs(this.need(file), file);
    if (!sameKeys(jwk, ['crv', 'kty', 'x', 'y'])) throw bad('vb.transcript.jwkMembers', { file });
    let key: CryptoKey;
    try {
      key = await importDeviceKey(jwk);
    } catch (err) {
      throw bad('vb.transcript.jwkInvalid', { file, reason: reason(err) });
    }
    const thumb = await thumbprint(jwk);
    if (thumb !== keyId) throw bad('vb.transcript.jwkMismatch', { file, thumb, keyId });
    return key;
  }

  /**
   * A machine version's key: the P-256 key of keys/transcriber.pem, whose
   * thumbprint must be the version's signer.key_id. That the server CA issued
   * this certificate for the transcriber is X.509 work, left to `fieldproof verify`.
   */
  async transcriberKey(n: number, keyId: string): Promise<CryptoKey> {
    if (!this.nameSet.has(TRANSCRIBER_CERT) || !this.nameSet.has(SERVER_CA)) {
      throw bad('vb.transcript.noTranscriber', { n, cert: TRANSCRIBER_CERT, ca: SERVER_CA });
    }
    const file = TRANSCRIBER_CERT;
    const blocks = splitPem(text(this.need(file), file));
    if (!blocks.length) throw bad('vb.transcript.certInvalid', { file, reason: 'no PEM certificate' });
    // One certificate per transcriber key the server used: the one for this key.
    let thumb = '';
    for (const block of blocks) {
      let info: PublicKeyInfo;
      let key: CryptoKey;
      let jwk: JsonWebKey;
      try {
        info = publicKeyInfo(pemDer(block));
        if (info.algorithm !== OID_EC_PUBLIC_KEY || info.curve !== OID_P256) throw bad('vb.transcript.certNoKey', { file });
        key = await crypto.subtle.importKey('spki', info.spki as Uint8Array<ArrayBuffer>, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
        jwk = await crypto.subtle.exportKey('jwk', key);
      } catch (err) {
        if (blocks.length === 1) throw err instanceof Bad ? err : bad('vb.transcript.certInvalid', { file, reason: reason(err) });
        continue;
      }
      thumb = await thumbprint({ kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y) });
      if (thumb === keyId) return key;
    }
    throw bad('vb.transcript.certOtherKey', { file, thumb, n, keyId });
  }

  /** transcript/log.jsonl: one line per version, its leaf rebuilt from the document, proven into the custody checkpoint. The number proven. */
  async checkTranscriptLog(entries: Map<number, string>): Promise<number> {
    const file = TRANSCRIPT_LOG;
    const s = text(this.need(file), file);
    if (!s.endsWith('\n')) throw bad('vb.transcript.logNewline', { file });
    const items = new Map<unknown, Json>();
    s.split('\n').slice(0, -1).forEach((line, i) => {
      const item = jcs(utf8.encode(line), `${file} line ${i + 1}`);
      const keys = Object.keys(item);
      if (!['version', 'entry', 'leaf_index'].every((k) => keys.includes(k)) || keys.some((k) => !LOG_LINE_MEMBERS.includes(k)) ||
          !Number.isInteger(item.version) || typeof item.entry !== 'string' || items.has(item.version)) {
        throw bad('vb.transcript.logLine', { file, line: i + 1 });
      }
      items.set(item.version, item);
    });
    const have = [...entries.keys()];
    if (items.size !== have.length || !have.every((n) => items.has(n))) {
      throw bad('vb.transcript.logVersions', { file, listed: [...items.keys()].map(String).join(', '), have: have.join(', ') });
    }
    const cp = await this.custodyCheckpoint();
    let proven = 0;
    for (const [n, entry] of entries) {
      const item = items.get(n) as Json;
      if (item.entry !== entry) throw bad('vb.transcript.logEntry', { file, n });
      const index = item.leaf_index;
      const proof = item.inclusion_proof;
      if (proof === undefined || proof === null) {
        if (cp && isInt(index) && index < cp.size) throw bad('vb.transcript.logNoProof', { file, n, index, size: cp.size });
        continue; // not in the log yet when the bundle was made
      }
      if (!cp || !isInt(index) || !Array.isArray(proof)) throw bad('vb.transcript.logNeedsCp', { file, n, cp: CUSTODY_CHECKPOINT });
      const path = proof.map((p, k) => b64Field(p, `${file} v${n} inclusion_proof[${k}]`));
      if (!(await verifyInclusion(index, cp.size, await leafHash(utf8.encode(entry)), path, cp.root))) {
        throw bad('vb.transcript.logInclusion', { file, n, index, size: cp.size });
      }
      proven++;
    }
    return proven;
  }

  /** The checks in the reference's order (bundle/verify.py `verify()`). */
  async verify(): Promise<BundleReport> {
    await this.load();
    this.parseChunks();
    await this.hashMedia();
    this.sums();
    await this.run('layout', () => this.checkLayout());
    await this.run('manifest', () => this.checkManifest());
    await this.run('device_key', () => this.checkDeviceKey());
    await this.run('signature', () => this.checkSignature());
    await this.checkLogEntry();
    await this.run('media', () => this.checkMedia());
    if (this.nameSet.has(CHUNKS) || (this.manifestOk && (this.partial || 'stream' in this.manifest))) {
      await this.run('chunks', () => this.checkChunks());
      await this.run('continuity', async () => this.checkContinuity());
    }
    await this.checkCheckpoint();
    await this.run('inclusion', () => this.checkReceipt());
    await this.checkTimestamps();
    if (this.nameSet.has(CERTIFICATE)) await this.runElsewhere('certificate', () => this.checkCertificate());
    else this.add('certificate', 'fail', { key: 'vb.missing', params: { file: CERTIFICATE } });
    if (this.nameSet.has(SUMS_SIGNATURE)) await this.runElsewhere('sums_signature', () => this.checkSumsSignature());
    else this.add('sums_signature', 'fail', { key: 'vb.missing', params: { file: SUMS_SIGNATURE } });
    for (const name of this.names) {
      if (name.startsWith(C2PA_PREFIX)) await this.runElsewhere('credentials', () => this.checkCredentials(name));
    }
    if (this.nameSet.has(CUSTODY)) await this.run('custody', () => this.checkCustody());
    else this.add('custody', 'fail', { key: 'vb.missing', params: { file: CUSTODY } });
    if ((this.manifestOk && this.manifest.kind === 'web') || this.names.some((n) => n.startsWith(WEB_DIR) || n === WEB_RECORDER_CERT)) {
      await this.run('web_files', () => this.checkWebFiles());
      await this.runElsewhere('web_recorder', () => this.checkWebRecorder());
    }
    if (this.names.some((n) => n.startsWith(TRANSCRIPT_DIR) || n === TRANSCRIPT_PDF || n === TRANSCRIBER_CERT)) {
      // A machine version's certificate chain to the server CA is X.509 work for
      // `fieldproof verify`: with one, this line informs, it does not pass.
      const machine = [...this.files.entries()].some(([n, d]) => /^transcript\/v\d+\.json$/.test(n) &&
        new TextDecoder().decode(d).includes('"origin":"machine"'));
      if (machine) await this.runElsewhere('transcript', () => this.checkTranscript());
      else await this.run('transcript', () => this.checkTranscript());
    }
    const failed = this.checks.filter((c) => c.status === 'fail').length;
    const skipped = this.checks.filter((c) => c.status === 'skip').length;
    const notInBrowser = [...new Set(this.checks.filter((c) => c.status === 'info').map((c) => c.name))];
    return {
      checks: this.checks,
      ok: this.checks.length > 0 && failed === 0 && skipped === 0,
      failed,
      skipped,
      notInBrowser,
      capture: {
        manifestSha256: await sha256Hex(this.files.get(MANIFEST) ?? new Uint8Array()),
        media: this.mediaName,
        mediaSha256: this.media.sha256,
        mediaSize: this.media.size,
        mediaMs: this.media.ms,
        keyId: this.keyId,
        kind: String(this.manifest.kind ?? ''),
        origin: this.checkpoint?.origin ?? null,
        partial: this.partial,
      },
    };
  }
}

/** A sortable instant (ns since the epoch) of an RFC 3339 time, or null. */
function timeKey(value: unknown): bigint | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!m) return null;
  const ms = Date.parse(m[1] + (m[3] === 'Z' ? 'Z' : m[3]));
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Check every claim of an evidence bundle. Throws BundleUnusable when there
 * is nothing to verify (required files missing); every other problem is a
 * failed check in the report.
 */
export async function verifyBundle(source: BundleSource, opts: VerifyOptions = {}): Promise<BundleReport> {
  return new Verify(source, opts).verify();
}
