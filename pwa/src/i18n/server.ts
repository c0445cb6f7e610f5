// What the server says, in the reader's language: shared/i18n/server.json holds
// every check name ("check"), check sentence ("code", with {params}), capture
// kind, custody event and verdict sentence, in English and Chinese. The server
// sends stable codes with parameters; older captures have only an English
// `detail`, shown as it is.
//
// Parameter conventions (backend core/verdict.py): a value that is an object
// with language keys is that language's text; `kind` is a capture kind; names
// ending in `_at` are RFC 3339 times, shown local (in zone `tz` when the
// parameters name one) with the UTC offset and UTC alongside.
import catalogue from '../../../shared/i18n/server.json';
import { format, fmtList, fmtNumber, hasKey, isTimeText, lang, t, templateNodes, type Key, type Params } from './index';

export interface Entry {
  en: string;
  'zh-CN': string;
}
export type Section = Record<string, Entry>;
export const SECTIONS = ['check', 'code', 'kind', 'custody', 'verdict'] as const;
export type SectionName = (typeof SECTIONS)[number];

const CAT = catalogue as unknown as Record<string, Section | string>;

export function section(name: SectionName): Section {
  const s = CAT[name];
  return s && typeof s === 'object' ? s : {};
}

export function serverText(sec: SectionName, key: string): string | null {
  const e = section(sec)[key];
  if (!e) return null;
  return e[lang()] ?? e.en ?? null;
}

function capitalize(s: string): string {
  return lang() === 'en' && s ? s[0].toUpperCase() + s.slice(1) : s;
}

export function renderParam(name: string, value: unknown, params: Record<string, unknown>): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object' && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if (typeof v[lang()] === 'string') return v[lang()] as string;
    if (typeof v.en === 'string') return v.en;
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return fmtList(value.map((x) => renderParam('', x, params)));
  if (name === 'kind' && typeof value === 'string') return serverText('kind', value) ?? value;
  if (name.endsWith('_at') && isTimeText(value)) {
    // Inside a sentence: local time with its offset, as the certificate prints it
    // (the UTC time alongside would break the sentence; the details show it).
    return format('{t}', { t: { time: value, utc: false, ...(typeof params.tz === 'string' ? { tz: params.tz } : {}) } });
  }
  if (name === 'fields' && typeof value === 'string') {
    // exif.present: the EXIF members found, each named in the reader's language.
    return fmtList(value.split(/,\s*/).filter(Boolean).map((f) => (hasKey(`exif.field.${f}`) ? t(`exif.field.${f}` as Key) : f)));
  }
  if (typeof value === 'number') return fmtNumber(value, 2);
  return String(value);
}

/** A code with parameters, in the current language; null when the catalogue lacks it. */
export function sayServer(sec: SectionName, code: string, params: Record<string, unknown> = {}): string | null {
  const template = serverText(sec, code);
  if (template === null) return null;
  const p: Params = {};
  for (const [k, v] of Object.entries(params)) p[k] = typeof v === 'number' && !k.endsWith('_at') ? v : renderParam(k, v, params);
  return format(template, p);
}

/** Parameters that are data (ids, hashes, MIME types, names) rather than language. */
function isData(name: string, value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (name === 'kind' || name === 'fields' || (name.endsWith('_at') && isTimeText(value))) return false;
  return true;
}

/** Like sayServer, as nodes: data parameters in `<span translate="no">`. */
export function sayServerNodes(sec: SectionName, code: string, params: Record<string, unknown> = {}): (string | Node)[] | null {
  const template = serverText(sec, code);
  if (template === null) return null;
  const p: Params = {};
  for (const [k, v] of Object.entries(params)) {
    p[k] = typeof v === 'number' && !k.endsWith('_at') ? v : isData(k, v) ? { raw: v } : renderParam(k, v, params);
  }
  return templateNodes(template, p);
}

export interface ServerCheck {
  name: string;
  ok: boolean;
  detail: string;
  code?: string;
  params?: Record<string, unknown>;
}

export function checkName(name: string): string {
  return serverText('check', name) ?? name;
}

/** The check's sentence in the reader's language; the server's English detail when it has no code. */
export function checkSentence(c: ServerCheck): string {
  return (c.code && sayServer('code', c.code, c.params ?? {})) || c.detail;
}

/** The check's sentence as nodes (data in `translate="no"` spans); the English detail without a code. */
export function checkNodes(c: ServerCheck): (string | Node)[] {
  const nodes = c.code ? sayServerNodes('code', c.code, c.params ?? {}) : null;
  if (nodes) return nodes;
  const span = document.createElement('span');
  span.lang = 'en';
  span.textContent = c.detail;
  return [span];
}

export function kindText(kind: string): string {
  return serverText('kind', kind) ?? kind;
}

export function custodyText(event: string): string {
  return capitalize(serverText('custody', event) ?? event);
}

export interface VerdictPart {
  code: string;
  params?: Record<string, unknown>;
}

/** The plain-language verdict: one part ({code, params}) or several, joined as sentences. */
export function verdictSentence(v: VerdictPart | VerdictPart[] | null | undefined): string | null {
  const parts = Array.isArray(v) ? v : v ? [v] : [];
  const texts = parts.map((p) => sayServer('verdict', p.code, p.params ?? {})).filter((s): s is string => !!s);
  if (!texts.length) return null;
  return capitalize(texts.join(lang() === 'zh-CN' ? '' : ' '));
}
