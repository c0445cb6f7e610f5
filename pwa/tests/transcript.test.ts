// Transcripts (shared/PROTOCOL.md "Transcripts"): the next human version chains
// to the one the edit started from, the server's limits are checked before
// signing, the canonical text is stable, and its signature verifies.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import {
  buildNextVersion,
  fmtCode,
  INAUDIBLE,
  INVALID_REASONS,
  insertAt,
  parseCode,
  partsFrom,
  rowAfter,
  rowsFrom,
  signVersion,
  TranscriptDocError,
  type Segment,
  type TranscriptDoc,
  type TranscriptVersion,
} from '../src/app/transcript';
import { sha256Hex, utf8 } from '../src/shared/bytes';
import { canonicalText } from '../src/shared/jcs';
import en from '../src/i18n/en';
import zh from '../src/i18n/zh-CN';
import { generateDeviceKey, publicJwk, signBytes, thumbprint, verifyBytes } from '../src/shared/keys';

const CAPTURE = { id: 'cap_01HZX', manifest_sha256: 'a'.repeat(64), media_sha256: 'b'.repeat(64) };
const KEY_ID = 'k'.repeat(43);
const NOW = new Date('2026-12-03T08:00:00.000Z');
const SEGS: Segment[] = [
  { start_ms: 0, end_ms: 2000, text: '你好', speaker: '我' },
  { start_ms: 2000, end_ms: 5400, text: '房东答应星期五退还押金', speaker: '对方' },
];

// The backend's schema, when it is there (it is being written alongside).
const SCHEMA = join(__dirname, '..', '..', 'backend', 'src', 'fieldproof', 'schema', 'transcript-v1.schema.json');
let validate: ((d: unknown) => boolean) | null = null;
try {
  validate = new Ajv2020({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);
} catch {
  validate = null;
}

async function versionOf(doc: TranscriptDoc): Promise<TranscriptVersion> {
  const text = canonicalText(doc);
  return {
    version: doc.version,
    sha256: await sha256Hex(utf8.encode(text)),
    origin: doc.origin,
    key_id: doc.signer.key_id,
    created_at: doc.created_at,
    leaf_index: null,
    document: doc,
    signature: '',
  };
}

function machineDoc(): TranscriptDoc {
  return {
    v: 1, type: 'fieldproof.transcript', capture_id: CAPTURE.id, manifest_sha256: CAPTURE.manifest_sha256,
    media_sha256: CAPTURE.media_sha256, version: 1, prev: null, origin: 'machine', based_on: null, language: 'zh',
    created_at: '2026-12-03T07:00:00.000Z', signer: { key_id: 't'.repeat(43) },
    engine: { name: 'faster-whisper', version: '1.1.0', model: 'small', vad: true, beam_size: 5 },
    segments: SEGS, key_points: [],
  };
}

const build = (over: Partial<Parameters<typeof buildNextVersion>[0]> = {}) =>
  buildNextVersion({ capture: CAPTURE, latest: null, segments: SEGS, keyPoints: [], language: 'zh', keyId: KEY_ID, now: NOW, ...over });

function reason(fn: () => unknown): [string, number | null] | null {
  try {
    fn();
  } catch (err) {
    if (err instanceof TranscriptDocError) return [err.reason, err.n];
    throw err;
  }
  return null;
}

describe('buildNextVersion', () => {
  it('version 1 typed from scratch: no prev, no based_on, human, no engine', () => {
    const doc = build();
    expect(doc).toMatchObject({
      v: 1, type: 'fieldproof.transcript', capture_id: CAPTURE.id, manifest_sha256: CAPTURE.manifest_sha256,
      media_sha256: CAPTURE.media_sha256, version: 1, prev: null, origin: 'human', based_on: null,
      language: 'zh', created_at: '2026-12-03T08:00:00.000Z', signer: { key_id: KEY_ID }, engine: null,
    });
    expect(doc.segments).toEqual(SEGS);
    if (validate) expect(validate(doc)).toBe(true);
  });

  it('chains: after a machine draft, based_on is the draft; after a human version, its based_on carries on', async () => {
    const machine = await versionOf(machineDoc());
    const v2 = build({ latest: machine, keyPoints: [{ start_ms: 2000, end_ms: 5400, label: '退押金承诺' }] });
    expect(v2.version).toBe(2);
    expect(v2.prev).toBe(machine.sha256);
    expect(v2.based_on).toBe(machine.sha256);
    expect(v2.origin).toBe('human');
    const human2 = await versionOf(v2);
    const v3 = build({ latest: human2 });
    expect(v3.version).toBe(3);
    expect(v3.prev).toBe(human2.sha256);
    expect(v3.prev).not.toBe(machine.sha256);
    expect(v3.based_on).toBe(machine.sha256);
    // a human chain that never had a machine draft stays based on nothing
    const typed = await versionOf(build());
    const next = build({ latest: typed });
    expect([next.version, next.prev, next.based_on]).toEqual([2, typed.sha256, null]);
    if (validate) for (const d of [v2, v3, next]) expect(validate(d)).toBe(true);
  });

  it('times become integer milliseconds; empty speakers become null; labels are trimmed', () => {
    const doc = build({
      segments: [{ start_ms: 10.4, end_ms: 999.6, text: ' a ', speaker: '  ' }],
      keyPoints: [{ start_ms: 0.2, end_ms: 1000.4, label: '  重点  ' }],
    });
    expect(doc.segments).toEqual([{ start_ms: 10, end_ms: 1000, text: ' a ', speaker: null }]);
    expect(doc.key_points).toEqual([{ start_ms: 0, end_ms: 1000, label: '重点' }]);
  });

  it('refuses what the server refuses, naming the part at fault', () => {
    const seg = (start_ms: number, end_ms: number, text = 'x'): Segment => ({ start_ms, end_ms, text, speaker: null });
    expect(reason(() => build({ segments: [seg(0, 1000), seg(3000, 2000)] }))).toEqual(['times', 2]);
    expect(reason(() => build({ segments: [seg(5000, 6000), seg(1000, 2000)] }))).toEqual(['order', 2]);
    expect(reason(() => build({ segments: [seg(-1, 10)] }))).toEqual(['time', 1]);
    expect(reason(() => build({ segments: [seg(Number.NaN, 10)] }))).toEqual(['time', 1]);
    expect(reason(() => build({ segments: [seg(0, 10, '字'.repeat(2001))] }))).toEqual(['text', 1]);
    // 2,000 characters that are 4,000 UTF-16 units (code points are counted, as the server does)
    expect(reason(() => build({ segments: [seg(0, 10, '😀'.repeat(2000))] }))).toBeNull();
    expect(reason(() => build({ segments: [{ ...seg(0, 10), speaker: 'x'.repeat(65) }] }))).toEqual(['speaker', 1]);
    expect(reason(() => build({ keyPoints: [{ start_ms: 0, end_ms: 10, label: 'x'.repeat(201) }] }))).toEqual(['label', 1]);
    expect(reason(() => build({ keyPoints: [{ start_ms: 0, end_ms: 10, label: 'x'.repeat(200) }] }))).toBeNull();
    expect(reason(() => build({ keyPoints: [{ start_ms: 0, end_ms: 10, label: '   ' }] }))).toEqual(['label', 1]);
    expect(reason(() => build({ keyPoints: [{ start_ms: 20, end_ms: 10, label: 'a' }] }))).toEqual(['keyPoint', 1]);
    const many = Array.from({ length: 5001 }, (_, i) => seg(i, i));
    expect(reason(() => build({ segments: many }))).toEqual(['segments', null]);
    expect(reason(() => build({ segments: many.slice(0, 5000) }))).toBeNull();
    const kps = Array.from({ length: 501 }, (_, i) => ({ start_ms: i, end_ms: i, label: 'k' }));
    expect(reason(() => build({ keyPoints: kps }))).toEqual(['keyPoints', null]);
    expect(reason(() => build({ keyPoints: kps.slice(0, 500) }))).toBeNull();
    expect(reason(() => build({ language: 'not a tag' }))).toEqual(['language', null]);
    expect(reason(() => build({ language: null }))).toBeNull();
    // 5,000 parts of 2,000 characters: more than 2 MiB in all
    const big = Array.from({ length: 1200 }, (_, i) => seg(i, i, '字'.repeat(2000)));
    expect(reason(() => build({ segments: big }))).toEqual(['size', null]);
  });

  it('every reason has its message in both languages', () => {
    for (const r of INVALID_REASONS) {
      expect(Object.keys(en), r).toContain(`transcript.invalid.${r}`);
      expect(Object.keys(zh), r).toContain(`transcript.invalid.${r}`);
    }
  });
});

describe('signVersion', () => {
  it('signs the canonical text; the signature verifies with the device key and not another', async () => {
    const pair = await generateDeviceKey();
    const other = await generateDeviceKey();
    const keyId = await thumbprint(await publicJwk(pair.publicKey));
    const doc = build({ keyId });
    const seen: string[] = [];
    const body = await signVersion(doc, keyId, async (id, bytes) => {
      seen.push(id);
      return signBytes(pair.privateKey, bytes);
    });
    expect(seen).toEqual([keyId]);
    expect(body.document).toBe(canonicalText(doc));
    expect(JSON.parse(body.document)).toEqual(doc);
    const bytes = utf8.encode(body.document);
    expect(await verifyBytes(pair.publicKey, bytes, body.signature)).toBe(true);
    expect(await verifyBytes(other.publicKey, bytes, body.signature)).toBe(false);
    expect(await verifyBytes(pair.publicKey, utf8.encode(body.document.replace('押金', '房租')), body.signature)).toBe(false);
  });

  it('the canonical text is stable: sorted members, no spaces, the same for the same version', () => {
    const a = canonicalText(build());
    const shuffled = Object.fromEntries(Object.entries(build()).reverse());
    expect(canonicalText(shuffled)).toBe(a);
    expect(a.startsWith('{"based_on":null,"capture_id":"cap_01HZX","created_at":"2026-12-03T08:00:00.000Z","engine":null,')).toBe(true);
    expect(a).toContain('"segments":[{"end_ms":2000,"speaker":"我","start_ms":0,"text":"你好"}');
    expect(a).not.toMatch(/": |, /);
    expect(a.endsWith(',"type":"fieldproof.transcript","v":1,"version":1}')).toBe(true);
  });
});

describe('time codes', () => {
  it('fmtCode writes M:SS under an hour and H:MM:SS from one', () => {
    expect(fmtCode(0)).toBe('0:00');
    expect(fmtCode(5400)).toBe('0:05');
    expect(fmtCode(59_999)).toBe('0:59');
    expect(fmtCode(65_000)).toBe('1:05');
    expect(fmtCode(600_000)).toBe('10:00');
    expect(fmtCode(3_599_000)).toBe('59:59');
    expect(fmtCode(3_600_000)).toBe('1:00:00');
    expect(fmtCode(3_723_000)).toBe('1:02:03');
    expect(fmtCode(36_000_000)).toBe('10:00:00');
    expect(fmtCode(-5)).toBe('0:00');
    expect(fmtCode(65_500, true)).toBe('1:05.5');
    expect(fmtCode(65_000, true)).toBe('1:05');
    expect(fmtCode(65_040, true)).toBe('1:05.04');
  });

  it('parseCode reads what fmtCode writes, and refuses what is not a time', () => {
    for (const ms of [0, 5400, 65_500, 65_040, 3_723_000, 3_723_125]) expect(parseCode(fmtCode(ms, true))).toBe(ms);
    expect(parseCode('65')).toBe(65_000);
    expect(parseCode('1:05,5')).toBe(65_500);
    expect(parseCode(' 2:00 ')).toBe(120_000);
    for (const bad of ['', 'abc', '1:60', '1:60:00', '1::2', '-1', '1:2:3:4']) expect(parseCode(bad), bad).toBeNull();
  });
});

describe('the editor model', () => {
  it('a key point on exactly a part travels with it; others stay as they are', () => {
    const doc = {
      segments: SEGS,
      key_points: [{ start_ms: 2000, end_ms: 5400, label: '退押金承诺' }, { start_ms: 0, end_ms: 5400, label: '全程' }],
    };
    const { rows, loose } = rowsFrom(doc);
    expect(rows.map((r) => r.key)).toEqual([null, '退押金承诺']);
    expect(loose).toEqual([{ start_ms: 0, end_ms: 5400, label: '全程' }]);
    const back = partsFrom(rows, loose);
    expect(back.segments).toEqual(SEGS);
    expect(back.keyPoints).toEqual([{ start_ms: 0, end_ms: 5400, label: '全程' }, { start_ms: 2000, end_ms: 5400, label: '退押金承诺' }]);
    // moving a key part moves its key point
    rows[1].end_ms = 6000;
    rows[0].speaker = '';
    const moved = partsFrom(rows, []);
    expect(moved.keyPoints).toEqual([{ start_ms: 2000, end_ms: 6000, label: '退押金承诺' }]);
    expect(moved.segments[0].speaker).toBeNull();
  });

  it('a new part goes between its neighbours, so the parts stay in time order', () => {
    const { rows } = rowsFrom({ segments: SEGS, key_points: [] });
    const mid = rowAfter(rows, 0);
    expect([mid.start_ms, mid.end_ms]).toEqual([2000, 2000]);
    const last = rowAfter(rows, 1, 9000);
    expect([last.start_ms, last.end_ms, last.speaker]).toEqual([5400, 9000, '对方']);
    const first = rowAfter([], -1, 12_345);
    expect([first.start_ms, first.end_ms, first.text]).toEqual([0, 12_345, '']);
    // overlapping neighbours: the new one starts no later than the next
    const overlap = rowsFrom({ segments: [{ start_ms: 0, end_ms: 5000, text: '', speaker: null }, { start_ms: 3000, end_ms: 6000, text: '', speaker: null }], key_points: [] }).rows;
    const between = rowAfter(overlap, 0);
    expect([between.start_ms, between.end_ms]).toEqual([3000, 3000]);
    const rows2 = [...overlap.slice(0, 1), between, ...overlap.slice(1)];
    expect(reason(() => build({ segments: partsFrom(rows2).segments }))).toBeNull();
  });

  it('the inaudible mark goes in at the cursor, in place of a selection', () => {
    expect(insertAt('他说星期五', 2, 2)).toEqual({ text: `他说${INAUDIBLE}星期五`, caret: 2 + INAUDIBLE.length });
    expect(insertAt('abcdef', 1, 4, 'X')).toEqual({ text: 'aXef', caret: 2 });
    expect(insertAt('ab', 9, 9, 'X')).toEqual({ text: 'abX', caret: 3 });
    expect(INAUDIBLE).toBe('[听不清 / inaudible]');
  });
});
