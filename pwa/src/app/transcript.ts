// Transcripts (文字稿, shared/PROTOCOL.md "Transcripts"): the document, the next
// human version after the one a person edited, its signature with the device
// key, and the API calls. No DOM here: the panel is src/ui/transcript.ts.
//
// A transcript is an aid to the recording, never a replacement: each version is
// a signed JCS document bound to the capture's manifest and media hashes, and
// the versions form a chain (`prev`). A machine version is a draft; a human
// version names the machine version it started from (`based_on`).
import { apiFetch } from '../shared/api';
import { utf8 } from '../shared/bytes';
import { canonicalText } from '../shared/jcs';
import { signWithKey } from './signer';

export const TRANSCRIPT_TYPE = 'fieldproof.transcript';
/** How unintelligible words are written, in every language. */
export const INAUDIBLE = '[听不清 / inaudible]';

export const LIMITS = {
  segments: 5000,
  text: 2000, // characters (code points) per segment
  keyPoints: 500,
  label: 200,
  speaker: 64,
  language: 16,
  bytes: 2 * 1024 * 1024,
  ms: 864_000_000, // ten days: the schema's largest time
} as const;

export interface Segment {
  start_ms: number;
  end_ms: number;
  text: string;
  speaker: string | null;
}

export interface KeyPoint {
  start_ms: number;
  end_ms: number;
  label: string;
}

export type Origin = 'machine' | 'human';

export interface TranscriptDoc {
  v: 1;
  type: typeof TRANSCRIPT_TYPE;
  capture_id: string;
  manifest_sha256: string;
  media_sha256: string;
  version: number;
  prev: string | null;
  origin: Origin;
  based_on: string | null;
  language: string | null;
  created_at: string;
  signer: { key_id: string };
  engine: Record<string, unknown> | null;
  segments: Segment[];
  key_points: KeyPoint[];
}

/** One version as GET .../transcript lists it (`versions`: without the document). */
export interface TranscriptVersionInfo {
  version: number;
  sha256: string;
  origin: Origin;
  key_id: string;
  created_at: string;
  leaf_index: number | null;
}

/** The newest version (`latest`), with its document and signature. */
export interface TranscriptVersion extends TranscriptVersionInfo {
  document: TranscriptDoc;
  signature: string;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface TranscriptJob {
  id: string;
  state: JobState;
  code?: string | null;
  language: string | null;
  created_at?: string;
  finished_at?: string | null;
}

/** GET /api/v1/captures/{id}/transcript. */
export interface TranscriptState {
  job: TranscriptJob | null;
  latest: TranscriptVersion | null;
  versions: TranscriptVersionInfo[];
}

/** What a version is about: the capture and the hashes it is bound to. */
export interface CaptureRef {
  id: string;
  manifest_sha256: string;
  media_sha256: string;
}

/** Why a version would be refused (each has its message, 'transcript.invalid.<reason>'). */
export const INVALID_REASONS = [
  'time', // not an integer number of ms in range
  'times', // a segment ends before it starts
  'order', // a segment starts before the one before it
  'text', // a segment's text is too long
  'speaker', // a speaker label is too long
  'label', // a key point's label: empty or too long
  'keyPoint', // a key point's times
  'segments', // too many segments
  'keyPoints', // too many key points
  'language', // not a BCP 47 tag
  'size', // more than 2 MiB in all
] as const;
export type InvalidReason = (typeof INVALID_REASONS)[number];

/** A document that the server would refuse (mirrors its schema and rules). */
export class TranscriptDocError extends Error {
  constructor(
    readonly reason: InvalidReason,
    /** 1-based number of the segment or key point at fault, when one is. */
    readonly n: number | null = null,
  ) {
    super(`transcript invalid: ${reason}${n === null ? '' : ` (#${n})`}`);
    this.name = 'TranscriptDocError';
  }
}

export function isActive(job: TranscriptJob | null | undefined): boolean {
  return !!job && (job.state === 'queued' || job.state === 'running');
}

/** Length in characters (code points), as the server's schema counts it. */
function chars(s: string): number {
  return Array.from(s).length;
}

/** An integer number of milliseconds in the schema's range. */
function ms(v: number, n: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TranscriptDocError('time', n);
  const r = Math.round(v);
  if (r < 0 || r > LIMITS.ms) throw new TranscriptDocError('time', n);
  return r;
}

const LANGUAGE = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$/;

/** Check the parts of a version as the server will; the normalized copies (integer ms). */
export function checkParts(segments: readonly Segment[], keyPoints: readonly KeyPoint[], language: string | null): {
  segments: Segment[];
  key_points: KeyPoint[];
  language: string | null;
} {
  if (segments.length > LIMITS.segments) throw new TranscriptDocError('segments');
  if (keyPoints.length > LIMITS.keyPoints) throw new TranscriptDocError('keyPoints');
  if (language !== null && (language.length > LIMITS.language || !LANGUAGE.test(language))) throw new TranscriptDocError('language');
  let last = -1;
  const segs = segments.map((s, i): Segment => {
    const n = i + 1;
    const start = ms(s.start_ms, n);
    const end = ms(s.end_ms, n);
    if (end < start) throw new TranscriptDocError('times', n);
    if (start < last) throw new TranscriptDocError('order', n);
    last = start;
    if (typeof s.text !== 'string' || chars(s.text) > LIMITS.text) throw new TranscriptDocError('text', n);
    const speaker = typeof s.speaker === 'string' && s.speaker.trim() ? s.speaker.trim() : null;
    if (speaker !== null && chars(speaker) > LIMITS.speaker) throw new TranscriptDocError('speaker', n);
    return { start_ms: start, end_ms: end, text: s.text, speaker };
  });
  const kps = keyPoints.map((k, i): KeyPoint => {
    const n = i + 1;
    let start: number, end: number;
    try {
      start = ms(k.start_ms, n);
      end = ms(k.end_ms, n);
    } catch {
      throw new TranscriptDocError('keyPoint', n);
    }
    if (end < start) throw new TranscriptDocError('keyPoint', n);
    const label = typeof k.label === 'string' ? k.label.trim() : '';
    if (!label || chars(label) > LIMITS.label) throw new TranscriptDocError('label', n);
    return { start_ms: start, end_ms: end, label };
  });
  return { segments: segs, key_points: kps, language };
}

/** The version a person's edit makes: what `latest` was when the edit started, + 1. */
export function buildNextVersion(args: {
  capture: CaptureRef;
  latest: (Pick<TranscriptVersion, 'version' | 'sha256' | 'origin'> & { document: Pick<TranscriptDoc, 'based_on'> }) | null;
  segments: readonly Segment[];
  keyPoints: readonly KeyPoint[];
  language: string | null;
  keyId: string;
  now?: Date | number;
}): TranscriptDoc {
  const { capture, latest } = args;
  const parts = checkParts(args.segments, args.keyPoints, args.language);
  const doc: TranscriptDoc = {
    v: 1,
    type: TRANSCRIPT_TYPE,
    capture_id: capture.id,
    manifest_sha256: capture.manifest_sha256,
    media_sha256: capture.media_sha256,
    version: latest ? latest.version + 1 : 1,
    prev: latest ? latest.sha256 : null,
    origin: 'human',
    // the machine draft this edit comes from: the latest itself, or what it came from
    based_on: latest ? (latest.origin === 'machine' ? latest.sha256 : latest.document.based_on ?? null) : null,
    language: parts.language,
    created_at: new Date(args.now ?? Date.now()).toISOString(),
    signer: { key_id: args.keyId },
    engine: null,
    segments: parts.segments,
    key_points: parts.key_points,
  };
  if (utf8.encode(canonicalText(doc)).length > LIMITS.bytes) throw new TranscriptDocError('size');
  return doc;
}

export type ByteSigner = (keyId: string, bytes: Uint8Array) => Promise<string>;

/**
 * The body of POST .../transcript/versions: the canonical text exactly as
 * signed, and the device's signature over its bytes (the signing lock and key
 * lookup of every other signature on this device).
 */
export async function signVersion(doc: TranscriptDoc, keyId: string, sign: ByteSigner = signWithKey): Promise<{ document: string; signature: string }> {
  const document = canonicalText(doc);
  return { document, signature: await sign(keyId, utf8.encode(document)) };
}

// -- time codes -----------------------------------------------------------------------

/** "M:SS" or "H:MM:SS" (seconds floored); `precise` adds the milliseconds when there are any. */
export function fmtCode(ms: number, precise = false): string {
  const total = Math.max(0, Math.round(ms));
  const secs = Math.floor(total / 1000);
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  let out = h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  const frac = total % 1000;
  if (precise && frac) out += `.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
  return out;
}

/** "1:05", "1:05.5", "1:02:03", "65" (seconds) → ms; null when it is not a time. */
export function parseCode(text: string): number | null {
  const m = /^\s*(?:(?:(\d+):)?(\d+):)?(\d+)(?:[.,](\d{1,3}))?\s*$/.exec(text);
  if (!m) return null;
  const [, hh, mm, ss, frac] = m;
  const h = hh ? Number(hh) : 0;
  const min = mm ? Number(mm) : 0;
  const s = Number(ss);
  if ((mm !== undefined && s >= 60) || (hh !== undefined && min >= 60)) return null;
  const total = ((h * 60 + min) * 60 + s) * 1000 + (frac ? Number(frac.padEnd(3, '0')) : 0);
  return total <= LIMITS.ms ? total : null;
}

// -- the editor's model -----------------------------------------------------------------

/** A segment as the editor holds it: its key point (a label) travels with it. */
export interface EditRow {
  start_ms: number;
  end_ms: number;
  text: string;
  speaker: string; // '' for none
  key: string | null; // the key point's label; null when it is not a key point
}

/**
 * Rows from a document: a key point whose range is exactly a segment's is that
 * segment's; any other (a range over several segments) is kept as it is.
 */
export function rowsFrom(doc: Pick<TranscriptDoc, 'segments' | 'key_points'>): { rows: EditRow[]; loose: KeyPoint[] } {
  const rows: EditRow[] = doc.segments.map((s) => ({ start_ms: s.start_ms, end_ms: s.end_ms, text: s.text, speaker: s.speaker ?? '', key: null }));
  const loose: KeyPoint[] = [];
  for (const kp of doc.key_points) {
    const row = rows.find((r) => r.key === null && r.start_ms === kp.start_ms && r.end_ms === kp.end_ms);
    if (row) row.key = kp.label;
    else loose.push({ ...kp });
  }
  return { rows, loose };
}

/** The document's segments and key points (in time order) from the rows. */
export function partsFrom(rows: readonly EditRow[], loose: readonly KeyPoint[] = []): { segments: Segment[]; keyPoints: KeyPoint[] } {
  const segments = rows.map((r) => ({ start_ms: r.start_ms, end_ms: r.end_ms, text: r.text, speaker: r.speaker.trim() || null }));
  const keyPoints = [
    ...rows.filter((r) => r.key !== null).map((r) => ({ start_ms: r.start_ms, end_ms: r.end_ms, label: r.key!.trim() })),
    ...loose.map((k) => ({ ...k })),
  ].sort((a, b) => a.start_ms - b.start_ms || a.end_ms - b.end_ms);
  return { segments, keyPoints };
}

/** A new empty row after row `i` (or the first one), timed between its neighbours. */
export function rowAfter(rows: readonly EditRow[], i: number, durationMs: number | null = null): EditRow {
  const row = rows[i];
  const next = rows[i + 1];
  if (!row) {
    const end = next ? next.start_ms : Math.max(0, Math.round(durationMs ?? 0));
    return { start_ms: 0, end_ms: end, text: '', speaker: '', key: null };
  }
  const start = next ? Math.max(row.start_ms, Math.min(row.end_ms, next.start_ms)) : row.end_ms;
  const end = next ? Math.max(start, next.start_ms) : Math.max(start, Math.round(durationMs ?? start));
  return { start_ms: start, end_ms: end, text: '', speaker: row.speaker, key: null };
}

/** Text with `insert` put in place of the selection; the caret goes after it. */
export function insertAt(text: string, selStart: number, selEnd: number, insert: string = INAUDIBLE): { text: string; caret: number } {
  const a = Math.max(0, Math.min(selStart, text.length));
  const b = Math.max(a, Math.min(selEnd, text.length));
  return { text: text.slice(0, a) + insert + text.slice(b), caret: a + insert.length };
}

// -- the API ------------------------------------------------------------------------------

const base = (id: string) => `/captures/${encodeURIComponent(id)}/transcript`;

function asDoc(d: unknown): TranscriptDoc {
  return (typeof d === 'string' ? JSON.parse(d) : d) as TranscriptDoc;
}

/** The newest job, the newest version (its document parsed) and every version. */
export async function getTranscript(id: string, token: string | null, signal?: AbortSignal): Promise<TranscriptState> {
  const s = await apiFetch<TranscriptState>(base(id), { token, signal });
  return {
    job: s.job ?? null,
    latest: s.latest ? { ...s.latest, document: asDoc(s.latest.document) } : null,
    versions: s.versions ?? [],
  };
}

/** Queue a machine transcription (language: a BCP 47 tag, or detected when absent). */
export async function startTranscript(id: string, token: string | null, language?: string | null): Promise<TranscriptJob> {
  return apiFetch<TranscriptJob>(base(id), { method: 'POST', token, json: language ? { language } : {} });
}

/** Save a human version: the canonical text and its signature. */
export async function saveVersion(id: string, token: string | null, body: { document: string; signature: string }): Promise<TranscriptVersionInfo> {
  return apiFetch<TranscriptVersionInfo>(`${base(id)}/versions`, { method: 'POST', token, json: body });
}

export const transcriptPdfPath = (id: string): string => `${base(id)}.pdf`;
