// Language choice (navigator.languages, switchable, remembered) and formatting.
import en, { type Key } from './en';
import zh from './zh-CN';

export type { Key };
export const TABLES: Record<Lang, Record<Key, string>> = { en, 'zh-CN': zh };
export type Lang = 'en' | 'zh-CN';
export const LANGS: Lang[] = ['en', 'zh-CN'];
const STORE = 'fieldproof.lang';

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

export function initLang(): Lang {
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(STORE);
  } catch {
    /* storage blocked */
  }
  applyLang(pickLang(navigator.languages?.length ? navigator.languages : [navigator.language], saved));
  return current;
}

function applyLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
  document.title = t('app.name');
}

export function setLang(l: Lang): void {
  try {
    localStorage.setItem(STORE, l);
  } catch {
    /* not remembered, still switched */
  }
  applyLang(l);
  listeners.forEach((fn) => fn());
}

export function lang(): Lang {
  return current;
}

export function onLang(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function t(key: Key, params: Record<string, string | number> = {}): string {
  const text = TABLES[current][key] ?? TABLES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k: string) => (k in params ? String(params[k]) : `{${k}}`));
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return t('detail.none');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
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

/** Set text (and keep the key so a language switch can relabel it). */
export function tx<E extends HTMLElement>(el: E, key: Key, params?: Record<string, string | number>): E {
  el.dataset.i18n = key;
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  el.textContent = t(key, params);
  return el;
}

/** Set aria-label from the tables. */
export function aria<E extends HTMLElement>(el: E, key: Key): E {
  el.dataset.i18nAria = key;
  el.setAttribute('aria-label', t(key));
  return el;
}

/** After a language switch: every element built with tx() or aria() gets its new text. */
export function relabel(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    const params = el.dataset.i18nParams ? (JSON.parse(el.dataset.i18nParams) as Record<string, string | number>) : undefined;
    el.textContent = t(el.dataset.i18n as Key, params);
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-aria]').forEach((el) => {
    el.setAttribute('aria-label', t(el.dataset.i18nAria as Key));
  });
}
