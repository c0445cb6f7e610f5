import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import en from '../src/i18n/en';
import { format, type Params } from '../src/i18n';
import type { Msg } from '../src/verify/bundle';

export const SHARED = join(__dirname, '..', '..', 'shared');

export function readJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(...parts), 'utf8')) as T;
}

export function readText(...parts: string[]): string {
  return readFileSync(join(...parts), 'utf8');
}

export function list(...parts: string[]): string[] {
  return readdirSync(join(...parts)).sort();
}

/** A verifier message in English as the page shows it: plurals chosen, listed messages each said. */
export function msgText(m: Msg): string {
  const tpl = (en as Record<string, string>)[m.key];
  if (typeof tpl !== 'string') throw new Error(`no message ${m.key}`);
  const params: Params = {};
  for (const [k, v] of Object.entries(m.params ?? {})) params[k] = Array.isArray(v) ? v.map(msgText).join('; ') : v;
  return format(tpl, params);
}
