// A tiny element builder: no framework, just the DOM.
import { tx } from '../i18n';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, unknown> & {
  class?: string;
  text?: string;
  on?: Partial<Record<keyof HTMLElementEventMap, (e: Event) => void>>;
};

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'type', 'htmlFor', 'tabIndex']);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'on') {
      for (const [ev, fn] of Object.entries(v as Record<string, (e: Event) => void>)) el.addEventListener(ev, fn);
    } else if (PROPS.has(k)) (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Element[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  children.forEach((c) => el.append(c));
  return el as SVGElement;
}

/** A view: one root element, created once, shown and hidden by the controller. */
export interface View {
  readonly el: HTMLElement;
  show?(arg?: string): void | Promise<void>;
  hide?(): void;
  /** Re-render texts after a language switch. */
  relabel?(): void;
}

/** ": " or "：", as the language writes it between a label and its value. */
export function colon(): HTMLElement {
  return tx(document.createElement('span'), 'sep.colon');
}

/** Replace an element's children; null, undefined and false are left out. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}
