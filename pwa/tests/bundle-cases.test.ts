// The shared bundle cases (shared/vectors/bundle/cases.json) against the
// browser verifier (src/verify/bundle.ts). pytest runs the same file against
// the reference (tests/bundle/test_cases.py): every case is a real exported
// bundle, maybe mutated (the ops are tests/support/bundle_cases.py's, ported here),
// written as a zip and read back through ZipReader, as the /verify page does,
// with the log key pinned.
//
// - browser: true  -> the named check fails here too;
// - browser: false -> the browser says it did not check it (status 'info',
//   a "not in this browser" message), never 'pass';
// - unusable       -> refused as not a bundle (BundleUnusable);
// - the intact bundles show the reference's check names in its order.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import en from '../src/i18n/en';
import { hex, sha256, utf8 } from '../src/shared/bytes';
import { canonicalText } from '../src/shared/jcs';
import { BundleUnusable, isMember, NOT_IN_BROWSER, verifyBundle, ZipSource, type BundleReport, type Check } from '../src/verify/bundle';
import { crc32, ZipReader } from '../src/verify/zip';
import { msgText, SHARED } from './helpers';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Mutation {
  op: string;
  member: string;
  [k: string]: Json | undefined;
}
interface Case {
  id: string;
  bundle: string;
  mutation: Mutation | null;
  sums: 'keep' | 'update';
  expect: 'pass' | 'fail' | 'unusable';
  fails: string | null;
  browser: boolean;
  why?: string;
  note?: string;
}
interface Bundle {
  file: string;
  media: string;
  names: string[];
  checks: string[];
}
interface Doc {
  log_vkey: string;
  bundles: Record<string, Bundle>;
  layout_examples: { media: string; names: Record<string, boolean> };
  cases: Case[];
}

const DIR = join(SHARED, 'vectors', 'bundle');
const doc = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as Doc;
const layout = JSON.parse(readFileSync(join(DIR, 'layout.json'), 'utf8')) as { files: { sums: string }; dirs: { media: string } };
const SUMS = layout.files.sums;
const MEDIA_DIR = layout.dirs.media;
const blob = (data: Uint8Array) => new Blob([data as Uint8Array<ArrayBuffer>]);
const zipOf = (bundle: string) => new Uint8Array(readFileSync(join(DIR, doc.bundles[bundle].file)));
const strict = new TextDecoder('utf-8', { fatal: true });

type Entries = [string, Uint8Array][];

async function unzip(data: Uint8Array): Promise<Entries> {
  const zip = await ZipReader.open(blob(data));
  const out: Entries = [];
  for (const e of zip.entries) {
    out.push([e.name, e.method === 0 ? new Uint8Array(await (await zip.storedBlob(e.name)).arrayBuffer()) : await zip.read(e.name)]);
  }
  return out;
}

// -- the mutations (as tests/support/bundle_cases.py) ---------------------------------

function get(entries: Entries, name: string): Uint8Array {
  const found = entries.filter(([n]) => n === name);
  expect(found, name).toHaveLength(1);
  return found[0][1];
}

function put(entries: Entries, name: string, data: Uint8Array): void {
  const i = entries.findIndex(([n]) => n === name);
  expect(i, name).toBeGreaterThanOrEqual(0);
  entries[i] = [name, data];
}

const zeros = new Map<number, Uint8Array>(); // one buffer per size: the zip writer deflates it once

async function content(m: Mutation, entries: Entries): Promise<Uint8Array> {
  if (typeof m.text === 'string') return utf8.encode(m.text);
  if (typeof m.zeros === 'number') {
    if (!zeros.has(m.zeros)) zeros.set(m.zeros, new Uint8Array(m.zeros));
    return zeros.get(m.zeros)!;
  }
  if (typeof m.copy_of === 'string') return get(entries, m.copy_of);
  const from = m.from_bundle as { bundle: string; member: string } | undefined;
  if (from) return get(await unzip(zipOf(from.bundle)), from.member);
  throw new Error(`no content in ${JSON.stringify(m)}`);
}

function setPath(value: Json, path: Json[], m: Mutation): Json {
  const [step, ...rest] = path;
  if (step === '$json') return canonicalText(setPath(JSON.parse(value as string) as Json, rest, m));
  const holder = value as Record<string | number, Json>;
  const key = step as string | number;
  if (!rest.length) {
    if (m.delete) delete holder[key];
    else holder[key] = structuredClone(m.value as Json);
    return value;
  }
  holder[key] = setPath(holder[key], rest, m);
  return value;
}

async function apply(c: Case): Promise<{ entries: Entries; damage: Mutation | null }> {
  const entries = await unzip(zipOf(c.bundle));
  const m = c.mutation!;
  let damage: Mutation | null = null;
  const name = m.member;
  switch (m.op) {
    case 'flip': {
      const d = get(entries, name).slice();
      const at = m.at as number;
      d[at < 0 ? d.length + at : at] ^= 0x01;
      put(entries, name, d);
      break;
    }
    case 'remove': {
      const before = entries.length;
      entries.splice(0, entries.length, ...entries.filter(([n]) => n !== name));
      expect(entries.length).toBeLessThan(before);
      break;
    }
    case 'add': {
      const data = await content(m, entries);
      const count = (m.count as number | undefined) ?? 1;
      for (let i = 0; i < count; i++) entries.push([name.replace('{i}', String(i)), data]);
      break;
    }
    case 'replace':
      put(entries, name, await content(m, entries));
      break;
    case 'append': {
      const old = get(entries, name);
      const more = utf8.encode(m.text as string);
      const d = new Uint8Array(old.length + more.length);
      d.set(old);
      d.set(more, old.length);
      put(entries, name, d);
      break;
    }
    case 'rename': {
      const i = entries.findIndex(([n]) => n === name);
      entries[i] = [m.to as string, entries[i][1]];
      break;
    }
    case 'duplicate':
      entries.push([name, get(entries, name)]);
      break;
    case 'json_set':
      put(entries, name, utf8.encode(canonicalText(setPath(JSON.parse(strict.decode(get(entries, name))) as Json, m.path as Json[], m))));
      break;
    case 'text_replace': {
      const s = strict.decode(get(entries, name));
      expect(s).toContain(m.find as string);
      put(entries, name, utf8.encode(s.replace(m.find as string, () => m.with as string)));
      break;
    }
    case 'line_set':
    case 'line_remove':
    case 'line_move':
    case 'line_json_set': {
      const lines = strict.decode(get(entries, name)).split('\n');
      const i = m.line as number;
      expect(i >= 0 && i < lines.length - 1, `line ${i}`).toBe(true);
      if (m.op === 'line_set') lines[i] = m.text as string;
      else if (m.op === 'line_remove') lines.splice(i, 1);
      else if (m.op === 'line_move') lines.splice(m.to as number, 0, ...lines.splice(i, 1));
      else lines[i] = canonicalText(setPath(JSON.parse(lines[i]) as Json, m.path as Json[], m));
      put(entries, name, utf8.encode(lines.join('\n')));
      break;
    }
    case 'zip_flip':
      damage = m;
      break;
    default:
      throw new Error(`unknown op ${m.op}`);
  }
  if (c.sums === 'update') {
    const lines: string[] = [];
    const sorted = entries.filter(([n]) => n !== SUMS).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [n, d] of sorted) lines.push(`${hex(await sha256(d))}  ${n}\n`);
    put(entries, SUMS, utf8.encode(lines.join('')));
  }
  return { entries, damage };
}

// -- a small zip writer: media and empty files STORED, the rest DEFLATED --------

const deflated = new WeakMap<Uint8Array, { data: Uint8Array; crc: number }>();

async function deflate(data: Uint8Array): Promise<{ data: Uint8Array; crc: number }> {
  let done = deflated.get(data);
  if (!done) {
    const out = await new Response(blob(data).stream().pipeThrough(new CompressionStream('deflate-raw'))).arrayBuffer();
    done = { data: new Uint8Array(out), crc: crc32(data) };
    deflated.set(data, done);
  }
  return done;
}

async function writeZip(entries: Entries, damage: Mutation | null): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  let flipAt = -1;
  for (const [name, data] of entries) {
    const stored = name.startsWith(MEDIA_DIR) || data.length === 0;
    const body = stored ? { data, crc: crc32(data) } : await deflate(data);
    const nameBytes = utf8.encode(name);
    const head = new DataView(new ArrayBuffer(30));
    const fields = (v: DataView, at: number) => {
      v.setUint16(at, 20, true); // version needed
      v.setUint16(at + 2, 0x0800, true); // UTF-8 names
      v.setUint16(at + 4, stored ? 0 : 8, true);
      v.setUint16(at + 6, 0, true); // time
      v.setUint16(at + 8, (2026 - 1980) << 9 | 1 << 5 | 1, true); // date
      v.setUint32(at + 10, body.crc, true);
      v.setUint32(at + 14, body.data.length, true);
      v.setUint32(at + 18, data.length, true);
      v.setUint16(at + 22, nameBytes.length, true);
      v.setUint16(at + 24, 0, true); // extra
    };
    head.setUint32(0, 0x04034b50, true);
    fields(head, 4);
    const cd = new DataView(new ArrayBuffer(46));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, 20, true); // version made by
    fields(cd, 6);
    cd.setUint32(42, offset, true);
    if (damage && name === damage.member) flipAt = offset + 30 + nameBytes.length + (damage.at as number);
    parts.push(new Uint8Array(head.buffer), nameBytes, body.data);
    central.push(new Uint8Array(cd.buffer), nameBytes);
    offset += 30 + nameBytes.length + body.data.length;
  }
  const cdSize = central.reduce((n, p) => n + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  const all = [...parts, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  if (damage) {
    expect(flipAt, damage.member).toBeGreaterThanOrEqual(0);
    out[flipAt] ^= 0x01;
  }
  return out;
}

// -- running a case ---------------------------------------------------------------

async function zipFor(c: Case): Promise<Uint8Array> {
  if (!c.mutation) return zipOf(c.bundle); // the export itself, ZIP64 and all
  const { entries, damage } = await apply(c);
  return writeZip(entries, damage);
}

async function verify(data: Uint8Array): Promise<BundleReport> {
  return verifyBundle(new ZipSource(await ZipReader.open(blob(data))), { logVkey: doc.log_vkey });
}

function text(c: Check): string {
  const tpl = (en as Record<string, string>)[c.msg.key];
  expect(tpl, c.msg.key).toBeTypeOf('string');
  return msgText(c.msg);
}

const lines = (r: BundleReport) => r.checks.map((c) => `${c.status} ${c.name}: ${text(c)}`);
const notInBrowserKey = (c: Check) => c.msg.key.endsWith('.notInBrowser');

function order(r: BundleReport): string[] {
  const out: string[] = [];
  for (const c of r.checks) if (out[out.length - 1] !== c.name) out.push(c.name);
  return out;
}

/** What the browser may leave unchecked: only NOT_IN_BROWSER checks, each saying so. */
function expectOnlyElsewhereUnchecked(r: BundleReport): void {
  for (const c of r.checks.filter((x) => x.status === 'info')) {
    expect(NOT_IN_BROWSER, c.name).toContain(c.name);
    expect(notInBrowserKey(c), c.msg.key).toBe(true);
  }
}

const SLOW = new Set(['cap-member-too-large', 'cap-members-at-limit', 'cap-too-many-members', 'cap-inflated-total']);

describe('the shared bundle cases in the browser verifier', () => {
  for (const c of doc.cases) {
    const what = c.expect === 'unusable' ? 'is refused as not a bundle'
      : c.expect === 'pass' ? 'passes every check the browser runs'
        : c.browser ? `fails ${c.fails}` : `leaves ${c.fails} to fieldproof verify`;
    it(`${c.id}: ${what}`, { timeout: SLOW.has(c.id) ? 120_000 : 10_000 }, async () => {
      const data = await zipFor(c);
      if (c.expect === 'unusable') {
        await expect(verify(data)).rejects.toBeInstanceOf(BundleUnusable);
        return;
      }
      const report = await verify(data);
      expectOnlyElsewhereUnchecked(report);
      const named = report.checks.filter((x) => x.name === c.fails);
      if (c.expect === 'pass') {
        expect(report.checks.filter((x) => x.status === 'fail' || x.status === 'skip').map((x) => `${x.name}: ${text(x)}`)).toEqual([]);
        expect(report.ok).toBe(true);
        // the reference's names, in its order (bundle/verify.py verify())
        if (!c.mutation) expect(order(report)).toEqual(doc.bundles[c.bundle].checks);
      } else if (c.browser) {
        expect(named.some((x) => x.status === 'fail'), lines(report).join('\n')).toBe(true);
      } else {
        expect(NOT_IN_BROWSER).toContain(c.fails);
        expect(named.length, lines(report).join('\n')).toBeGreaterThan(0);
        for (const x of named) {
          expect(x.status, `${x.name}: ${text(x)}`).toBe('info');
          expect(notInBrowserKey(x), x.msg.key).toBe(true);
        }
        expect(report.notInBrowser).toContain(c.fails);
      }
    });
  }
});

describe('continuity: what the device\'s signed chunk times say', () => {
  const report = async (bundle: string) => verify(zipOf(bundle));
  const line = (r: BundleReport, name: string) => {
    const found = r.checks.filter((x) => x.name === name);
    expect(found, name).toHaveLength(1);
    return found[0];
  };

  it('a stream with a 37 s pause passes, and says it is not continuous, where, and the join', async () => {
    const r = await report('stream-paused');
    const c = line(r, 'continuity');
    expect(c.status).toBe('pass');
    expect(c.msg.key).toBe('vb.continuity.paused');
    expect(c.msg.params).toMatchObject({ seconds: '41.5', chunks: 5, interval: 1000, interrupted: 0, joined: 1 });
    const pauses = c.msg.params!.pauses as { key: string; params: Record<string, unknown> }[];
    expect(pauses).toHaveLength(1);
    expect(pauses[0]).toMatchObject({ key: 'vb.continuity.pause', params: { seconds: '37.0' } });
    const said = text(c);
    expect(said).toMatch(/^NOT continuous: device clock \S+ to \S+ \(41\.5 s\), 5 chunks about every 1,000 ms; nothing recorded from \S+ to \S+ \(37\.0 s\); it continues the interrupted stream [0-9a-f]{64}$/);
    expect(r.ok).toBe(true);
  });

  it('a stream whose signed times go back passes chunks and fails continuity only', async () => {
    const r = await report('stream-backwards');
    expect(line(r, 'chunks').status).toBe('pass');
    const c = line(r, 'continuity');
    expect(c.status).toBe('fail');
    expect(c.msg).toEqual({ key: 'vb.continuity.backwards', params: { n: 1 } });
    expect(text(c)).toBe("the device's chunk times go back 1 time: they are not in recording order");
    expect(r.checks.filter((x) => x.status === 'fail').map((x) => x.name)).toEqual(['continuity']);
  });

  it('a stream stopped by the person is continuous; an interrupted one says so', async () => {
    const whole = line(await report('stream-zip64'), 'continuity');
    expect(whole.status).toBe('pass');
    expect(whole.msg.key).toBe('vb.continuity.continuous');
    expect(text(whole)).toMatch(/^continuous: device clock .* no pause between them$/);
    const partial = line(await report('partial'), 'continuity');
    expect(partial.status).toBe('pass');
    expect(text(partial)).toMatch(/; interrupted: the stream fell silent before the person stopped it$/);
    expect((await report('photo')).checks.some((x) => x.name === 'continuity')).toBe(false);
  });
});

describe('the case file itself', () => {
  it('covers every check of the reference, and says why the browser skips some', () => {
    const names = new Set(['read', ...Object.values(doc.bundles).flatMap((b) => b.checks)]);
    const failing = new Set(doc.cases.filter((c) => c.expect === 'fail').map((c) => c.fails));
    for (const n of names) expect(failing, n).toContain(n);
    for (const c of doc.cases) {
      expect(Boolean(c.why), c.id).toBe(!c.browser);
      if (!c.browser) expect(NOT_IN_BROWSER, c.id).toContain(c.fails);
    }
  });

  it('the layout: the same members as bundle/layout.py is_member', () => {
    const { media, names } = doc.layout_examples;
    for (const [name, member] of Object.entries(names)) expect(isMember(name, media), name).toBe(member);
  });
});
