// Both language tables have exactly the same keys and placeholders, and no
// UI string is written outside them.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import en from '../src/i18n/en';
import zh from '../src/i18n/zh-CN';
import { pickLang } from '../src/i18n';

const PREFIXES = [...new Set(Object.keys(en).map((k) => k.split('.')[0]))].join('|');
// Every quoted 'prefix.name' literal in the code is a table key.
const PREFIXED = new RegExp(`'((?:${PREFIXES})\\.[\\w.-]+)'`, 'g');
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n tables', () => {
  it('en and zh-CN have identical keys', () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
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
