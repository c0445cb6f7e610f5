// Language choice (navigator.languages, switchable, remembered) and formatting.
//
// Messages may hold ICU-style plurals, `{n, plural, one {# check} other {# checks}}`
// (`#` is the number, `=0 {…}` an exact match), and parameters may be markers
// that are formatted in the language shown, so that a relabel after a language
// switch formats them again: `{time: iso}` (local time with its UTC offset and
// UTC alongside), `{kind: 'photo'}`, `{key, params}` (another message), `{list}`
// (joined the language's way) or `{en, 'zh-CN'}` (a text given in both).
import type { Key } from './en';

export type { Key };
export type Lang = 'en' | 'zh-CN';
type Table = Record<Key, string>;

// Each language's table is its own chunk: a phone loads the one it shows
// (the service worker precaches both, so switching works offline).
const LOADERS: Record<Lang, () => Promise<{ default: Table }>> = {
  en: () => import('./en') as Promise<{ default: Table }>,
  'zh-CN': () => import('./zh-CN'),
};
const tables: Partial<Record<Lang, Table>> = {};

/** Load a language's table (once). */
export async function loadLang(l: Lang): Promise<void> {
  tables[l] ??= (await LOADERS[l]()).default;
}
export const LANGS: Lang[] = ['en', 'zh-CN'];
const STORE = 'fieldproof.lang';

export type Param =
  | string
  | number
  | { time: string; tz?: string; utc?: boolean }
  | { kind: string }
  | { key: Key; params?: Params }
  | { list: Param[] }
  | { raw: string }
  | { en: string; 'zh-CN': string };
export type Params = Record<string, Param>;

let current: Lang = 'en';
const listeners = new Set<() => void>();

/** The saved choice, else the first of the browser's languages we have, else English. */
export function pickLang(preferred: readonly string[], saved: string | null): Lang {
  if (saved && (LANGS as string[]).includes(saved)) return saved as Lang;
  for (const tag of preferred) {
    const l = tag.toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export async function initLang(): Promise<Lang> {
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(STORE);
  } catch {
    /* storage blocked */
  }
  const l = pickLang(navigator.languages?.length ? navigator.languages : [navigator.language], saved);
  await loadLang(l);
  applyLang(l);
  return current;
}

function applyLang(l: Lang): void {
  current = l;
  if (typeof document !== 'undefined') {
    document.documentElement.lang = l;
    document.title = t('app.name');
  }
}

export async function setLang(l: Lang): Promise<void> {
  try {
    localStorage.setItem(STORE, l);
  } catch {
    /* not remembered, still switched */
  }
  await loadLang(l);
  applyLang(l);
  listeners.forEach((fn) => fn());
}

/** For tests: switch without storing or notifying. */
export async function useLang(l: Lang): Promise<void> {
  await loadLang(l);
  current = l;
}

export function lang(): Lang {
  return current;
}

export function onLang(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function hasKey(key: string): key is Key {
  const table = tables[current] ?? tables.en;
  return !!table && Object.prototype.hasOwnProperty.call(table, key);
}

function template(key: Key): string {
  return tables[current]?.[key] ?? tables.en?.[key] ?? key;
}

/** A parameter as shown in the current language. */
export function fmtParam(v: Param | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return fmtNumber(v, 6);
  if (typeof v === 'string') return v;
  if ('time' in v) return fmtTime(v.time, { tz: v.tz, utc: v.utc ?? true });
  if ('kind' in v) return hasKey(`kind.${v.kind}`) ? t(`kind.${v.kind}` as Key) : v.kind;
  if ('key' in v) return t(v.key, v.params);
  if ('list' in v) return fmtList(v.list.map(fmtParam));
  if ('raw' in v) return v.raw;
  if (current in v) return v[current];
  return v.en;
}

export function fmtList(items: string[]): string {
  return items.join(current === 'zh-CN' ? '、' : ', ');
}

/** Find `{name, plural, …}` blocks (balanced braces) and pick the branch for the number. */
function plurals(text: string, params: Params): string {
  let out = '';
  let i = 0;
  const re = /\{(\w+),\s*plural,/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    let depth = 1;
    let j = m.index + m[0].length;
    const bodyStart = j;
    for (; j < text.length && depth > 0; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}') depth--;
    }
    const body = text.slice(bodyStart, j - 1);
    const raw = params[m[1]];
    const n = typeof raw === 'number' ? raw : Number(raw);
    const branches = new Map<string, string>();
    const br = /\s*(=\d+|zero|one|two|few|many|other)\s*\{/g;
    let b: RegExpExecArray | null;
    while ((b = br.exec(body))) {
      let d = 1;
      let k = b.index + b[0].length;
      const start = k;
      for (; k < body.length && d > 0; k++) {
        if (body[k] === '{') d++;
        else if (body[k] === '}') d--;
      }
      branches.set(b[1], body.slice(start, k - 1));
      br.lastIndex = k;
    }
    const rule = Number.isFinite(n) ? new Intl.PluralRules(current).select(n) : 'other';
    const chosen = branches.get(`=${n}`) ?? branches.get(rule) ?? branches.get('other') ?? '';
    out += text.slice(i, m.index) + chosen.replace(/#/g, Number.isFinite(n) ? fmtNumber(n, 6) : String(raw ?? ''));
    i = j;
    re.lastIndex = j;
  }
  return out + text.slice(i);
}

/** Placeholder names of a message, plurals included (for the table tests). */
export function placeholderNames(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\{(\w+)(?:\}|,\s*plural,)/g)) names.add(m[1]);
  return [...names].sort();
}

export function format(text: string, params: Params = {}): string {
  const withPlurals = text.includes(', plural,') ? plurals(text, params) : text;
  return withPlurals.replace(/\{(\w+)\}/g, (_, k: string) => (k in params ? fmtParam(params[k]) : `{${k}}`));
}

export function t(key: Key, params: Params = {}): string {
  return format(template(key), params);
}

function isRaw(v: Param | undefined): v is { raw: string } {
  return typeof v === 'object' && v !== null && 'raw' in v;
}

/**
 * A message as nodes: parameters given as `{raw}` (file names, hashes, key ids,
 * certificate subjects: data, not language) become `<span translate="no">`.
 */
export function messageNodes(key: Key, params: Params = {}): (string | Node)[] {
  return templateNodes(template(key), params);
}

/** Like messageNodes, for a template from elsewhere (the server's catalogue). */
export function templateNodes(template: string, params: Params = {}): (string | Node)[] {
  const text = template.includes(', plural,') ? plurals(template, params) : template;
  const out: (string | Node)[] = [];
  let last = 0;
  for (const m of text.matchAll(/\{(\w+)\}/g)) {
    out.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    const v = params[m[1]];
    if (!(m[1] in params)) out.push(m[0]);
    else if (isRaw(v)) {
      const span = document.createElement('span');
      span.className = 'raw';
      span.setAttribute('translate', 'no');
      span.textContent = v.raw;
      out.push(span);
    } else out.push(fmtParam(v));
  }
  out.push(text.slice(last));
  return out.filter((x) => x !== '');
}

// -- times --------------------------------------------------------------------------

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

export function isTimeText(s: unknown): s is string {
  return typeof s === 'string' && RFC3339.test(s) && !Number.isNaN(new Date(s).getTime());
}

/** "UTC+08:00" for the offset of `d` in zone `tz` (the browser's when absent). */
export function utcOffset(d: Date, tz?: string): string {
  let minutes = -d.getTimezoneOffset();
  if (tz) {
    try {
      const part = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' })
        .formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
      const m = /GMT([+-])(\d{1,2}):?(\d{2})?/.exec(part);
      minutes = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) : 0;
    } catch {
      /* unknown zone: the browser's */
    }
  }
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

function dateTime(d: Date, tz: string | undefined, withYear: boolean, seconds: boolean): string {
  const opts: Intl.DateTimeFormatOptions = {
    month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    ...(withYear ? { year: 'numeric' } : {}), ...(seconds ? { second: '2-digit' } : {}),
  };
  try {
    return new Intl.DateTimeFormat(current, { ...opts, ...(tz ? { timeZone: tz } : {}) }).format(d);
  } catch {
    return new Intl.DateTimeFormat(current, opts).format(d);
  }
}

function ymd(d: Date, tz?: string): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', ...(tz ? { timeZone: tz } : {}) }).format(d);
  } catch {
    return new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  }
}

/**
 * A time as people read it: local (or in zone `tz`), with its UTC offset, and
 * the UTC time alongside unless they are the same:
 * "May 12, 2025, 14:03:05 (UTC+08:00) · 06:03:05 UTC".
 */
export function fmtTime(iso: string | null | undefined, opts: { tz?: string; utc?: boolean; seconds?: boolean } = {}): string {
  if (!iso) return t('detail.none');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const seconds = opts.seconds ?? true;
  const offset = utcOffset(d, opts.tz);
  const local = dateTime(d, opts.tz, true, seconds);
  const zero = offset === 'UTC+00:00';
  const head = t('time.local', { time: local, offset: zero ? 'UTC' : offset });
  if (zero || opts.utc === false) return head;
  const sameDay = ymd(d, 'UTC') === ymd(d, opts.tz);
  const utc = sameDay
    ? new Intl.DateTimeFormat(current, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(seconds ? { second: '2-digit' } : {}), timeZone: 'UTC' }).format(d)
    : dateTime(d, 'UTC', false, seconds);
  return t('time.withUtc', { local: head, utc });
}

/** A <time> element: machine-readable datetime, human text (relabelled on a language switch). */
export function timeEl(iso: string | null | undefined, opts: { tz?: string; utc?: boolean } = {}): HTMLElement {
  const el = document.createElement('time');
  if (!iso) {
    el.textContent = t('detail.none');
    return el;
  }
  el.dateTime = iso;
  return tx(el, 'time.plain', { t: { time: iso, ...opts } });
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return t('detail.none');
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return new Intl.NumberFormat(current, { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: i ? 1 : 0 }).format(v);
}

export function fmtNumber(n: number, digits = 0): string {
  return new Intl.NumberFormat(current, { maximumFractionDigits: digits }).format(n);
}

// -- elements -------------------------------------------------------------------------

/** Set text (and keep the key so a language switch can relabel it). */
export function tx<E extends HTMLElement>(el: E, key: Key, params?: Params): E {
  el.dataset.i18n = key;
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  if (params && Object.values(params).some(isRaw)) el.replaceChildren(...messageNodes(key, params));
  else el.textContent = t(key, params);
  return el;
}

/** Set aria-label from the tables. */
export function aria<E extends Element>(el: E, key: Key, params?: Params): E {
  (el as unknown as HTMLElement).dataset.i18nAria = key;
  if (params) (el as unknown as HTMLElement).dataset.i18nAriaParams = JSON.stringify(params);
  el.setAttribute('aria-label', t(key, params));
  return el;
}

/** Set the placeholder of an input from the tables. */
export function placeholder<E extends HTMLInputElement | HTMLTextAreaElement>(el: E, key: Key): E {
  el.dataset.i18nPlaceholder = key;
  el.placeholder = t(key);
  return el;
}

/** After a language switch: every element built with tx() or aria() gets its new text. */
export function relabel(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    const params = el.dataset.i18nParams ? (JSON.parse(el.dataset.i18nParams) as Params) : undefined;
    tx(el, el.dataset.i18n as Key, params);
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-aria]').forEach((el) => {
    const params = el.dataset.i18nAriaParams ? (JSON.parse(el.dataset.i18nAriaParams) as Params) : undefined;
    el.setAttribute('aria-label', t(el.dataset.i18nAria as Key, params));
  });
  root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]').forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder as Key);
  });
}
