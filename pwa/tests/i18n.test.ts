// Both language tables have exactly the same keys and placeholders, and no
// UI string is written outside them.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import en from '../src/i18n/en';
import zh from '../src/i18n/zh-CN';
import { fmtTime, pickLang, placeholderNames, t, useLang, utcOffset } from '../src/i18n';
import server from '../../shared/i18n/server.json';
import timestampSteps from '../../shared/vectors/verify/timestamp-steps.json';

const PREFIXES = [...new Set(Object.keys(en).map((k) => k.split('.')[0]))].join('|');
// Every quoted 'prefix.name' literal in the code is a table key.
const PREFIXED = new RegExp(`'((?:${PREFIXES})\\.[\\w.-]+)'`, 'g');
const placeholders = placeholderNames;

describe('i18n tables', () => {
  it('en and zh-CN have identical keys', () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
  });

  it('every key of en.ts is in zh-CN.ts, and every key of zh-CN.ts in en.ts', () => {
    const missingZh = Object.keys(en).filter((k) => !(k in zh));
    const missingEn = Object.keys(zh).filter((k) => !(k in en));
    expect(missingZh, 'in en.ts, not in zh-CN.ts').toEqual([]);
    expect(missingEn, 'in zh-CN.ts, not in en.ts').toEqual([]);
  });

  it('Chinese strings are not English left untranslated', () => {
    // Allowed Latin in zh-CN: placeholders, names of standards, file names and the like.
    const ALLOWED = /\{[^}]*\}|FieldProof|English|SHA-?256(SUMS)?|ECDSA|P-256|RFC \d+|C2PA|C2SP|PAdES|EXIF|GPS|JSON|JCS|PDF|ZIP|PEM|CMS|CA|Ed25519|UTF-8|JWK|MB\/s|https|base64(url)?|zip|v\d|UTC|[\w.-]+\.(json|jsonl|sig|txt|tsr|pem|vkey|zip)|[a-z_]+(\.[a-z_]+)*|\/api\/v1\/\w+|0x00|r\|\|s|TSA/g;
    for (const [k, v] of Object.entries(zh)) {
      if (k === 'lang.en' || k === 'app.name') continue;
      const rest = v.replace(ALLOWED, '');
      expect(rest, k).not.toMatch(/[A-Za-z]{3,}/);
    }
  });

  it('each translation has the same placeholders and is not empty', () => {
    for (const [k, v] of Object.entries(en)) {
      const z = (zh as Record<string, string>)[k];
      expect(z.length, k).toBeGreaterThan(0);
      expect(placeholders(z), k).toEqual(placeholders(v));
    }
  });

  it('picks the language from navigator.languages, a saved choice wins', () => {
    expect(pickLang(['zh-CN', 'en'], null)).toBe('zh-CN');
    expect(pickLang(['zh-TW'], null)).toBe('zh-CN');
    expect(pickLang(['fr-FR', 'en-GB'], null)).toBe('en');
    expect(pickLang(['de'], null)).toBe('en');
    expect(pickLang(['zh-CN'], 'en')).toBe('en');
    expect(pickLang(['en'], 'zh-CN')).toBe('zh-CN');
  });

  it('every key used in the UI code exists', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.includes('i18n')) files.push(p);
      }
    };
    walk(join(__dirname, '..', 'src'));
    const used = new Set<string>();
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(PREFIXED)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(80);
    for (const k of used) expect(Object.keys(en), k).toContain(k);
  });
});

describe('the server\'s timestamp steps (shared/vectors/verify/timestamp-steps.json)', () => {
  it('every step code has a sentence in both languages that uses only its parameters', () => {
    let n = 0;
    for (const [step, codes] of Object.entries(timestampSteps.steps as Record<string, Record<string, string[]>>)) {
      for (const [code, params] of Object.entries(codes)) {
        const key = `verify.ts.${step}.${code}`;
        const e = (en as Record<string, string>)[key];
        expect(e, key).toBeTypeOf('string');
        // a sentence may leave a parameter out (the digest twice when they agree), never invent one
        for (const p of placeholders(e)) expect(params, `${key}: {${p}}`).toContain(p);
        n += 1;
      }
    }
    expect(n).toBeGreaterThan(25);
    // and no sentence for a code the server does not send
    const all = Object.entries(timestampSteps.steps as Record<string, Record<string, string[]>>)
      .flatMap(([step, codes]) => Object.keys(codes).map((c) => `verify.ts.${step}.${c}`));
    expect(Object.keys(en).filter((k) => k.startsWith('verify.ts.') && !['verify.ts.unknown', 'verify.ts.none'].includes(k)).sort()).toEqual(all.sort());
  });
});

type Entry = { en: string; 'zh-CN': string };
const SECTIONS = Object.entries(server as Record<string, unknown>).filter(([k]) => !k.startsWith('_')) as [string, Record<string, Entry>][];

describe('shared/i18n/server.json', () => {
  it('has the sections the app reads', () => {
    const names = SECTIONS.map(([k]) => k);
    for (const s of ['check', 'code', 'kind', 'custody']) expect(names).toContain(s);
  });

  it('every entry has both languages, not empty, with the same {params}', () => {
    for (const [sec, entries] of SECTIONS) {
      for (const [key, e] of Object.entries(entries)) {
        const where = `${sec}.${key}`;
        expect(Object.keys(e).sort(), where).toEqual(['en', 'zh-CN']);
        expect(e.en.trim().length, where).toBeGreaterThan(0);
        expect(e['zh-CN'].trim().length, where).toBeGreaterThan(0);
        expect(placeholders(e['zh-CN']), where).toEqual(placeholders(e.en));
      }
    }
  });

  it('every check code belongs to a known check name', () => {
    const names = Object.keys((server as unknown as { check: Record<string, Entry> }).check);
    for (const code of Object.keys((server as unknown as { code: Record<string, Entry> }).code)) {
      expect(names, code).toContain(code.split('.')[0]);
    }
  });
});

describe('formatting', () => {
  it('plurals pick the right form in English, one form in Chinese', async () => {
    await useLang('en');
    expect(t('verify.result.fail', { n: 1 })).toBe('1 check FAILED.');
    expect(t('verify.result.fail', { n: 2 })).toBe('2 checks FAILED.');
    expect(t('verify.result.ok', { n: 1 })).toBe('The check passed.');
    expect(t('verify.result.ok', { n: 12 })).toBe('All 12 checks passed.');
    expect(t('device.nonces', { n: 0 })).toMatch(/^No nonces/);
    await useLang('zh-CN');
    expect(t('verify.result.fail', { n: 2 })).toBe('2 项检查未通过。');
    expect(t('device.nonces', { n: 3 })).toBe('可用于离线采集的随机数：3 个。');
    await useLang('en');
  });

  it('no message says "(s)"', () => {
    for (const [k, v] of Object.entries(en)) expect(v, k).not.toMatch(/\w\(s\)/);
  });

  it('times are local with their UTC offset, and UTC alongside', async () => {
    await useLang('en');
    const iso = '2025-05-12T06:03:05Z';
    expect(utcOffset(new Date(iso), 'Asia/Shanghai')).toBe('UTC+08:00');
    expect(utcOffset(new Date(iso), 'America/New_York')).toBe('UTC-04:00');
    expect(utcOffset(new Date(iso), 'UTC')).toBe('UTC+00:00');
    const sh = fmtTime(iso, { tz: 'Asia/Shanghai' });
    expect(sh).toContain('14:03:05');
    expect(sh).toContain('UTC+08:00');
    expect(sh).toContain('06:03:05 UTC');
    expect(fmtTime(iso, { tz: 'UTC' })).toBe('May 12, 2025, 06:03:05 (UTC)');
    // a different day in UTC: the UTC part names its date
    expect(fmtTime('2025-05-12T20:00:00Z', { tz: 'Asia/Shanghai' })).toMatch(/May 13, 2025, 04:00:00 \(UTC\+08:00\) · May 12, 20:00:00 UTC/);
    await useLang('zh-CN');
    expect(fmtTime(iso, { tz: 'Asia/Shanghai' })).toBe('2025年5月12日 14:03:05（UTC+08:00） · UTC 06:03:05');
    await useLang('en');
  });
});
