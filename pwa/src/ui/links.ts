// Share links for a capture or a case: make one (how long it works, whether it
// lets people download the evidence bundle), copy or share it, see and
// withdraw the ones made before. Whoever has a link sees the evidence at
// /s/<token> without an account; each look is in the chain of custody.
import { copyText, shareLink } from '../app/files';
import { t, tx } from '../i18n';
import { ApiError, apiFetch, type Share } from '../shared/api';
import { h } from './dom';
import type { AppCtx } from './ctx';
import { icon } from './icons';
import { errorText, notAvailable } from './problems';

const EXPIRY: [number, 'links.expiry.day' | 'links.expiry.week' | 'links.expiry.month' | 'links.expiry.quarter'][] = [
  [86_400, 'links.expiry.day'],
  [604_800, 'links.expiry.week'],
  [2_592_000, 'links.expiry.month'],
  [7_776_000, 'links.expiry.quarter'],
];

export class ShareLinks {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private made: HTMLElement;
  private status: HTMLElement;
  private loaded = false;

  constructor(private ctx: AppCtx, private kind: 'case' | 'capture', private targetId: string, private title: () => string) {
    const uid = `${kind}-${targetId.slice(0, 8)}`;
    const label = h('input', { id: `link-label-${uid}`, type: 'text', maxlength: 100, autocomplete: 'off', 'data-testid': 'link-label' });
    const expiry = h('select', { id: `link-expiry-${uid}`, 'data-testid': 'link-expiry' });
    for (const [s, key] of EXPIRY) expiry.append(tx(h('option', { value: String(s) }), key));
    expiry.value = '604800';
    const allow = h('input', { type: 'checkbox', id: `link-download-${uid}`, 'data-testid': 'link-download' });
    const create = tx(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'link-create' }), 'links.create');
    create.addEventListener('click', async () => {
      create.disabled = true;
      try {
        const share = await apiFetch<Share>(`/${kind === 'case' ? 'cases' : 'captures'}/${encodeURIComponent(targetId)}/shares`, {
          method: 'POST', token: ctx.token(),
          json: { expires_in: Number(expiry.value), allow_download: allow.checked, ...(label.value.trim() ? { label: label.value.trim() } : {}) },
        });
        label.value = '';
        this.showMade(share);
        await this.refresh();
      } catch (err) {
        this.fail(err);
      } finally {
        create.disabled = false;
      }
    });
    this.made = h('div', { class: 'link-made', hidden: true, 'data-testid': 'link-made' });
    this.status = h('p', { class: 'note', hidden: true });
    this.list = h('ul', { class: 'links', 'data-testid': 'links' });
    this.el = h('div', { class: 'share-links' },
      tx(h('p', { class: 'note' }), kind === 'case' ? 'links.introCase' : 'links.introCapture'),
      h('div', { class: 'form compact' },
        h('div', { class: 'field' }, tx(h('label', { htmlFor: label.id }), 'links.label'), label),
        h('div', { class: 'field' }, tx(h('label', { htmlFor: expiry.id }), 'links.expiry'), expiry),
        h('div', { class: 'check-field' }, allow, tx(h('label', { htmlFor: allow.id }), 'links.allowDownload')),
        create),
      this.made, this.status,
      tx(h('h3', {}), 'links.existing'), this.list);
  }

  private fail(err: unknown): void {
    this.status.hidden = false;
    if (notAvailable(err)) tx(this.status, 'problem.not_available');
    else this.status.textContent = errorText(err);
  }

  private showMade(share: Share): void {
    const url = share.url ?? `${location.origin}/s/${share.token}`;
    const input = h('input', { type: 'text', readOnly: true, value: url, class: 'link-url', translate: 'no', 'data-testid': 'link-url',
      'aria-label': t('links.url'), on: { focus: () => input.select() } });
    input.readOnly = true;
    const copy = h('button', { type: 'button', class: 'btn secondary', 'data-testid': 'link-copy' }, icon('link'), tx(h('span', {}), 'links.copy'));
    copy.addEventListener('click', async () => this.ctx.toast(t((await copyText(url)) ? 'links.copied' : 'links.copyFailed')));
    const share_ = h('button', { type: 'button', class: 'btn secondary' }, icon('share'), tx(h('span', {}), 'links.share'));
    share_.addEventListener('click', async () => {
      const r = await shareLink(url, this.title());
      if (r === 'copied') this.ctx.toast(t('links.copied'));
      if (r === 'failed') this.ctx.toast(t('links.copyFailed'));
    });
    this.made.hidden = false;
    this.made.replaceChildren(tx(h('p', { class: 'ok-text' }), 'links.made'), input, h('div', { class: 'button-row' }, copy, share_));
  }

  /** Load the links made for this target (once shown). */
  async show(): Promise<void> {
    if (!this.loaded) await this.refresh();
  }

  async refresh(): Promise<void> {
    this.loaded = true;
    try {
      const { items } = await apiFetch<{ items: Share[] }>('/shares', { token: this.ctx.token() });
      const mine = items.filter((s) => s.kind === this.kind && s.target_id === this.targetId)
        .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
      this.list.replaceChildren(...(mine.length ? mine.map((s) => this.line(s)) : [tx(h('li', { class: 'note' }), 'links.none')]));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.ctx.expired();
      this.list.replaceChildren();
      this.fail(err);
    }
  }

  private line(s: Share): HTMLElement {
    const now = new Date().toISOString();
    const state = s.revoked_at ? tx(h('span', { class: 'flag-text' }), 'links.revokedAt', { time: { time: s.revoked_at, utc: false } })
      : s.expires_at <= now ? tx(h('span', { class: 'flag-text' }), 'links.expired')
        : tx(h('span', {}), 'links.until', { time: { time: s.expires_at, utc: false } });
    const li = h('li', { 'data-testid': 'link', 'data-id': s.id, 'data-revoked': String(!!s.revoked_at) },
      s.label ? h('strong', { translate: 'no' }, s.label) : tx(h('strong', {}), 'links.unnamed'), h('br'),
      tx(h('span', { class: 'note' }), 'links.madeAt', { time: { time: s.created_at, utc: false } }), h('br'),
      state, ' · ', tx(h('span', {}), s.allow_download ? 'links.downloadYes' : 'links.downloadNo'));
    if (!s.revoked_at && s.expires_at > now) {
      const revoke = tx(h('button', { type: 'button', class: 'btn secondary small danger', 'data-testid': 'link-revoke' }), 'links.revoke');
      revoke.addEventListener('click', async () => {
        if (!confirm(t('links.revokeConfirm'))) return;
        revoke.disabled = true;
        try {
          await apiFetch(`/shares/${encodeURIComponent(s.id)}`, { method: 'DELETE', token: this.ctx.token() });
          this.ctx.toast(t('links.revoked'));
          await this.refresh();
        } catch (err) {
          revoke.disabled = false;
          this.ctx.toast(errorText(err));
        }
      });
      li.append(h('br'), revoke);
    }
    return li;
  }
}
