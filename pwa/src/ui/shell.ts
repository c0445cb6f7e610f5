// The frame around every view: header (brand, connection, language), the
// main region and the bottom navigation (thumb reach on a phone).
import type { Fork } from '../app/witness';
import { aria, LANGS, lang, setLang, t, tx, type Key, type Lang } from '../i18n';
import { h } from './dom';
import { icon } from './icons';

export type Route = 'capture' | 'list' | 'cases' | 'device';

export class Shell {
  readonly el: HTMLElement;
  readonly main: HTMLElement;
  readonly nav: HTMLElement;
  private net: HTMLElement;
  private toastEl: HTMLElement;
  private alarm: HTMLElement;
  private navButtons = new Map<Route, HTMLButtonElement>();
  private langSelect: HTMLSelectElement;
  private toastTimer: ReturnType<typeof setTimeout> | null = null;
  private toastSeq = 0;

  constructor(onNavigate: (r: Route) => void) {
    this.net = h('span', { class: 'net', 'data-testid': 'net', role: 'status' });
    this.langSelect = h('select', { id: 'lang', 'data-testid': 'lang', on: { change: () => void setLang(this.langSelect.value as Lang) } });
    for (const l of LANGS) this.langSelect.append(tx(h('option', { value: l }), `lang.${l}`));
    this.langSelect.value = lang();
    const langLabel = tx(h('label', { htmlFor: 'lang', class: 'vh' }), 'lang.label');
    this.main = h('main', { id: 'main', tabindex: '-1' });
    this.nav = aria(h('nav', { class: 'bottom-nav', hidden: true }), 'nav.label');
    for (const r of ['capture', 'list', 'cases', 'device'] as Route[]) {
      const b = h('button', { type: 'button', 'data-testid': `nav-${r}`, class: `nav-btn nav-${r}`, on: { click: () => onNavigate(r) } },
        icon(r, undefined, 'nav-icon'), tx(h('span', { class: 'nav-text' }), `nav.${r}`));
      this.navButtons.set(r, b);
      this.nav.append(b);
    }
    this.toastEl = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite', hidden: true, 'data-testid': 'toast' });
    this.alarm = h('div', { class: 'alarm', role: 'alert', hidden: true, 'data-testid': 'fork-alarm' });
    this.el = h('div', { class: 'shell' },
      tx(h('a', { class: 'skip', href: '#main' }), 'app.skip'),
      h('header', { class: 'top' },
        h('div', { class: 'brand' }, h('img', { src: '/icons/icon-192.png', alt: '', width: 32, height: 32 }), tx(h('span', {}), 'app.name')),
        this.net,
        h('div', { class: 'lang' }, langLabel, this.langSelect)),
      this.alarm,
      this.main,
      this.toastEl,
      this.nav);
    this.setNet(navigator.onLine, false);
  }

  setNet(online: boolean, live: boolean): void {
    const state = !online ? 'offline' : live ? 'live' : 'online';
    this.net.dataset.state = state;
    this.net.dataset.online = String(online);
    tx(this.net, state === 'offline' ? 'net.offline' : state === 'live' ? 'net.live' : 'net.online');
    this.net.title = t('net.label');
  }

  setSignedIn(on: boolean): void {
    this.nav.hidden = !on;
  }

  setActive(r: Route | null): void {
    for (const [name, b] of this.navButtons) {
      if (name === r) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
  }

  /**
   * The log contradicted what this phone saw before (app/witness.ts): a loud
   * warning on every screen, for good; the evidence (both signed notes) can be copied.
   */
  setAlarm(fork: Fork, copy: () => Promise<boolean>): void {
    const old = /\n(\d+)\n/.exec(fork.old)?.[1] ?? '?';
    const button = tx(h('button', { type: 'button', class: 'btn secondary small', 'data-testid': 'fork-copy' }), 'witness.copy');
    button.addEventListener('click', async () => this.toast(t((await copy()) ? 'witness.copied' : 'links.copyFailed')));
    this.alarm.replaceChildren(
      tx(h('strong', {}), 'witness.alarmTitle'),
      tx(h('p', {}), 'witness.alarmBody', { old, reason: { key: `witness.reason.${fork.reason}` as Key }, time: { time: fork.at } }),
      button);
    this.alarm.hidden = false;
  }

  /** A short message for 4 s; the number it returns lets its sender take it back sooner. */
  toast(text: string): number {
    this.toastEl.textContent = text;
    this.toastEl.hidden = false;
    if (this.toastTimer) clearTimeout(this.toastTimer);
    const id = ++this.toastSeq;
    this.toastTimer = setTimeout(() => this.dismiss(id), 4000);
    return id;
  }

  /** Is toast `id` on screen? */
  showing(id: number): boolean {
    return id === this.toastSeq && !this.toastEl.hidden;
  }

  /** Hide toast `id` if it is still the one shown. */
  dismiss(id: number): void {
    if (id !== this.toastSeq || this.toastEl.hidden) return;
    this.toastEl.hidden = true;
    if (this.toastTimer) clearTimeout(this.toastTimer);
    this.toastTimer = null;
  }

  relabel(): void {
    this.langSelect.value = lang();
    this.setNet(this.net.dataset.online === 'true', this.net.dataset.state === 'live');
  }
}
