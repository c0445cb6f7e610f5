// Calls and meetings (shared/PROTOCOL.md, "Calls and meetings"): the signed
// `context` built from what the person said, with the lawful-recording notice;
// optional fields left out; the call time typed in the person's zone signed
// as UTC; and a recording's stream header and final manifest carry the very
// same context, as the server requires.
import Ajv2020 from 'ajv/dist/2020';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canonicalText } from '../src/shared/jcs';
import { generateDeviceKey, publicJwk, thumbprint, verifyBytes } from '../src/shared/keys';
import {
  buildCallContext,
  buildManifest,
  buildMeetingContext,
  buildStreamHeader,
  cleanNotice,
  localToUtc,
  NOTICE_VERSION,
  type DeviceInfo,
  type RecordingContext,
} from '../src/shared/protocol';
import type { KeyRecord, OutboxItem } from '../src/shared/db';
import { initialState } from '../src/shared/outbox';
import { sha256Init } from '../src/shared/sha256';
import { SHARED, readJson } from './helpers';

// The signer's storage, in memory: the key (with its chain head) and what it saves.
const store = vi.hoisted(() => ({ keys: new Map<string, unknown>(), saved: new Map<string, unknown>() }));
vi.mock('../src/shared/db', () => {
  const objectStore = (name: string) => ({
    get: async (k: string) => (name === 'keys' ? store.keys.get(k) : store.saved.get(`${name}:${k}`)),
    put: async (v: { keyId?: string; id?: string }) => {
      if (name === 'keys') store.keys.set(v.keyId!, v);
      else store.saved.set(`${name}:${v.id}`, v);
    },
  });
  const db = {
    transaction: (names: string | string[]) => ({
      objectStore,
      store: objectStore(Array.isArray(names) ? names[0] : names),
      done: Promise.resolve(),
    }),
  };
  return { openDb: async () => db, getKey: async (id: string) => store.keys.get(id) };
});

const { sealAndSave, signFinalManifest, signStreamHeader } = await import('../src/app/signer');

const ajv = new Ajv2020({ strict: false, allErrors: true });
const manifestSchema = ajv.compile(readJson<object>(SHARED, 'schema', 'manifest-v1.schema.json'));
const headerSchema = ajv.compile(readJson<object>(SHARED, 'schema', 'stream-header-v2.schema.json'));

const NOTICE = { version: NOTICE_VERSION, acknowledged_at: '2026-03-01T08:00:00.000Z' };
const NONCE = 'n'.repeat(43);

function device(keyId: string): DeviceInfo {
  return {
    key_id: keyId, user_agent: 'test', ua_hints: null, platform: 'Linux', screen: null,
    app_version: 'fieldproof-pwa/0.1.0', timezone: 'Asia/Shanghai', language: 'zh-CN',
  };
}

async function makeKey(): Promise<KeyRecord> {
  const pair = await generateDeviceKey();
  const jwk = await publicJwk(pair.publicKey);
  const rec: KeyRecord = { keyId: await thumbprint(jwk), pair, jwk, createdAt: '2026-03-01T00:00:00Z', enrolledAt: null, prev: null };
  store.keys.set(rec.keyId, rec);
  return rec;
}

let tz: string | undefined;
beforeEach(() => {
  tz = process.env.TZ;
  process.env.TZ = 'Asia/Shanghai'; // the person's zone (UTC+08:00, no daylight saving)
});
afterEach(() => {
  if (tz === undefined) delete process.env.TZ;
  else process.env.TZ = tz;
});

describe('building a call or meeting context', () => {
  it('a call on speaker: the notice and the method, nothing left empty', () => {
    const c = buildCallContext(NOTICE, { method: 'speakerphone', party: '  ', direction: '' });
    expect(c).toEqual({ type: 'call', notice: NOTICE, call: { method: 'speakerphone' } });
    expect(canonicalText(c)).not.toContain('null');
  });

  it('every optional field when given; the party trimmed to 64 characters, the brand to 32', () => {
    const c = buildCallContext(NOTICE, {
      method: 'dialer_import', party: ' +86 138 0000 0000 ', direction: 'incoming',
      startedAt: '2026-01-03T10:00', brand: 'huawei',
    });
    expect(c).toEqual({
      type: 'call', notice: NOTICE,
      call: { method: 'dialer_import', party: '+86 138 0000 0000', direction: 'incoming', started_at: '2026-01-03T02:00:00.000Z', brand: 'huawei' },
    });
    const long = buildCallContext(NOTICE, { method: 'second_device', party: '9'.repeat(80), brand: 'b'.repeat(40) });
    expect(long.type === 'call' && long.call.party?.length).toBe(64);
    expect(long.type === 'call' && long.call.brand?.length).toBe(32);
    expect(long.type === 'call' && long.call.method).toBe('second_device');
  });

  it('an unknown direction is left out, not signed', () => {
    const c = buildCallContext(NOTICE, { method: 'speakerphone', direction: 'sideways' as never });
    expect(c.type === 'call' && 'direction' in c.call).toBe(false);
  });

  it('the call time typed in the person\'s zone is signed as UTC (RFC 3339, Z)', () => {
    expect(localToUtc('2026-01-03T10:00')).toBe('2026-01-03T02:00:00.000Z');
    expect(localToUtc('2026-01-01T00:30')).toBe('2025-12-31T16:30:00.000Z'); // the day before, in UTC
    expect(localToUtc('2026-01-03T10:00:30')).toBe('2026-01-03T02:00:30.000Z');
    process.env.TZ = 'America/New_York';
    expect(localToUtc('2026-07-01T09:15')).toBe('2026-07-01T13:15:00.000Z'); // daylight saving: UTC-4
    expect(localToUtc('2026-01-15T09:15')).toBe('2026-01-15T14:15:00.000Z'); // UTC-5
  });

  it('times with an offset are taken as they say; what is not a time gives none', () => {
    expect(localToUtc('2026-01-03T10:00+08:00')).toBe('2026-01-03T02:00:00.000Z');
    expect(localToUtc('2026-01-03T02:00:00Z')).toBe('2026-01-03T02:00:00.000Z');
    expect(localToUtc('')).toBeNull();
    expect(localToUtc('yesterday')).toBeNull();
    expect(localToUtc('2026-02-30T10:00')).toBeNull();
    const c = buildCallContext(NOTICE, { method: 'dialer_import', startedAt: 'not a time' });
    expect(c.type === 'call' && 'started_at' in c.call).toBe(false);
  });

  it('a meeting: which channel holds which source, and whether the picture is recorded', () => {
    expect(buildMeetingContext(NOTICE, ['display', 'microphone'], false)).toEqual({
      type: 'meeting', notice: NOTICE,
      meeting: { tracks: [{ index: 0, source: 'display' }, { index: 1, source: 'microphone' }], video: false },
    });
    // a phone: the microphone alone
    expect(buildMeetingContext(NOTICE, ['microphone'], false)).toMatchObject({ meeting: { tracks: [{ index: 0, source: 'microphone' }] } });
  });

  it('a stored acknowledgement is used only when it is one', () => {
    expect(cleanNotice({ version: 1, acknowledged_at: '2026-03-01T08:00:00Z' })).toEqual({ version: 1, acknowledged_at: '2026-03-01T08:00:00.000Z' });
    expect(cleanNotice(null)).toBeNull();
    expect(cleanNotice({ version: 0, acknowledged_at: '2026-03-01T08:00:00Z' })).toBeNull();
    expect(cleanNotice({ version: 1, acknowledged_at: 'soon' })).toBeNull();
  });
});

describe('the context in what the device signs', () => {
  const contexts: [string, RecordingContext][] = [
    ['speakerphone', buildCallContext(NOTICE, { method: 'speakerphone', party: '10086', direction: 'outgoing' })],
    ['dialer import', buildCallContext(NOTICE, { method: 'dialer_import', startedAt: '2026-01-03T10:00', brand: 'xiaomi' })],
    ['meeting', buildMeetingContext(NOTICE, ['display', 'microphone'], true)],
  ];

  for (const [name, context] of contexts) {
    it(`${name}: the shared schemas accept the manifest and the stream header with it`, () => {
      const d = device('k'.repeat(43));
      const header = buildStreamHeader({ kind: 'audio', mime: 'audio/webm;codecs=opus', nonce: NONCE, startedAt: '2026-03-01T08:01:00.000Z', geo: { absent: 'not_provided' }, device: d, prev: null, context });
      expect(headerSchema(header), JSON.stringify(headerSchema.errors)).toBe(true);
      const m = buildManifest({ kind: 'import', media: { sha256: 'a'.repeat(64), size: 10, mime: 'audio/mp4' }, start: '2026-03-01T08:01:00.000Z', end: '2026-03-01T08:01:00.000Z', nonce: NONCE, geo: { absent: 'not_provided' }, device: d, prev: null, context });
      expect(manifestSchema(m), JSON.stringify(manifestSchema.errors)).toBe(true);
      expect(m.context).toEqual(context);
    });
  }

  it('no context, no member: other captures are unchanged', () => {
    const m = buildManifest({ kind: 'photo', media: { sha256: 'a'.repeat(64), size: 1, mime: 'image/jpeg' }, start: '2026-03-01T08:01:00.000Z', end: '2026-03-01T08:01:00.000Z', nonce: NONCE, geo: { absent: 'not_provided' }, device: device('k'.repeat(43)), prev: null, context: null });
    expect('context' in m).toBe(false);
  });

  it('a recording: the stream header and the final manifest carry the same context, signed', async () => {
    const key = await makeKey();
    const context = buildCallContext(NOTICE, { method: 'speakerphone', party: '+8613800000000', direction: 'incoming' });
    const item: OutboxItem = {
      id: 'rec-1', kind: 'audio', createdAt: '2026-03-01T08:01:00.000Z', keyId: key.keyId, mime: 'audio/webm;codecs=opus', name: null,
      sha256: null, size: null, start: '2026-03-01T08:01:00.000Z', end: null, geo: null, device: device(key.keyId), nonce: NONCE,
      manifest: null, manifestHash: null, signature: null, forge: false, state: initialState(), context,
      stream: {
        header: null, signature: null, id: null, started: false, recorded: 3, sealed: 3, acked: 3, chain: null, size: 300,
        hash: sha256Init(), lastAt: '2026-03-01T08:01:03.000Z', ended: '2026-03-01T08:01:03.500Z', killed: false, continues: null,
        pending: { kind: 'audio', mime: 'audio/webm;codecs=opus', startedAt: '2026-03-01T08:01:00.000Z', geo: { absent: 'timeout' } },
      },
    };
    const signed = await signStreamHeader(item);
    expect(signed).not.toBeNull();
    const header = JSON.parse(signed!.header) as { context: RecordingContext };
    expect(header.context).toEqual(context);
    expect(headerSchema(header)).toBe(true);
    expect(await verifyBytes(key.pair.publicKey, new TextEncoder().encode(signed!.header), signed!.signature)).toBe(true);

    // Even if the item's copy changed afterwards, the final manifest restates the signed header's.
    const later: OutboxItem = { ...item, context: buildCallContext(NOTICE, { method: 'second_device' }),
      stream: { ...item.stream!, header: signed!.header, signature: signed!.signature, id: signed!.id, chain: 'c'.repeat(64) } };
    const fin = await signFinalManifest(later, { sha256: 'b'.repeat(64), size: 300 });
    const manifest = JSON.parse(fin.manifest) as { context: RecordingContext };
    expect(canonicalText(manifest.context)).toBe(canonicalText(header.context));
    expect(manifestSchema(manifest), JSON.stringify(manifestSchema.errors)).toBe(true);
    expect(await verifyBytes(key.pair.publicKey, new TextEncoder().encode(fin.manifest), fin.signature)).toBe(true);
  });

  it('an imported call recording: its manifest carries the context', async () => {
    const key = await makeKey();
    const context = buildCallContext(NOTICE, { method: 'dialer_import', party: '10086', direction: 'incoming', startedAt: '2026-01-03T10:00', brand: 'huawei' });
    const item: OutboxItem = {
      id: 'imp-1', kind: 'import', createdAt: '2026-03-01T08:01:00.000Z', keyId: key.keyId, mime: 'audio/mp4', name: 'call.m4a',
      sha256: 'd'.repeat(64), size: 1234, start: '2026-03-01T08:01:00.000Z', end: '2026-03-01T08:01:01.000Z', geo: { absent: 'timeout' },
      device: device(key.keyId), nonce: NONCE, manifest: null, manifestHash: null, signature: null, forge: false, stream: null,
      state: initialState(), context,
    };
    const saved = await sealAndSave(item, null);
    const m = JSON.parse(saved.manifest!) as { kind: string; context: RecordingContext };
    expect(m.kind).toBe('import');
    expect(m.context).toEqual(context);
    expect(m.context.type === 'call' && m.context.call.started_at).toBe('2026-01-03T02:00:00.000Z');
    expect(manifestSchema(m), JSON.stringify(manifestSchema.errors)).toBe(true);
  });
});
