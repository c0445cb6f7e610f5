// The device screen: key id, enrollment, re-key, account and storage.
import { fmtTime, t, tx } from '../i18n';
import type { KeyRecord } from '../shared/db';
import { APP_VERSION } from '../shared/protocol';
import { h, type View } from './dom';

export interface DeviceInfoView {
  key: KeyRecord | null;
  email: string | null;
  enrollError: string | null;
  nonces: number;
  storage: string;
}

export class DeviceView implements View {
  readonly el: HTMLElement;
  private keyId: HTMLElement;
  private created: HTMLElement;
  private enrolled: HTMLElement;
  private enrollError: HTMLElement;
  private nonces: HTMLElement;
  private account: HTMLElement;
  private storage: HTMLElement;
  private rekeyBtn: HTMLButtonElement;
  private last: DeviceInfoView | null = null;

  constructor(actions: { rekey(): Promise<void>; logout(): Promise<void> }) {
    this.keyId = h('code', { class: 'hash', 'data-testid': 'key-id' });
    this.created = h('span');
    this.enrolled = h('span', { 'data-testid': 'enrolled-at' });
    this.enrollError = h('p', { class: 'error', role: 'alert', hidden: true });
    this.nonces = h('p', { class: 'note' });
    this.account = h('p');
    this.storage = h('p', { class: 'note' });
    this.rekeyBtn = tx(h('button', { type: 'button', class: 'btn secondary wide', 'data-testid': 'rekey', on: {
      click: async () => {
        this.rekeyBtn.disabled = true;
        try {
          await actions.rekey();
        } finally {
          this.rekeyBtn.disabled = false;
        }
      },
    } }), 'device.rekey');
    const logout = tx(h('button', { type: 'button', class: 'btn secondary wide', 'data-testid': 'logout', on: { click: () => void actions.logout() } }), 'device.logout');
    this.el = h('section', { class: 'view device', 'aria-labelledby': 'device-title' },
      tx(h('h1', { id: 'device-title' }), 'device.title'),
      h('div', { class: 'card' },
        h('dl', { class: 'kv' },
          tx(h('dt'), 'device.keyId'), h('dd', {}, this.keyId),
          tx(h('dt'), 'device.created'), h('dd', {}, this.created),
          tx(h('dt'), 'device.enrolledAt'), h('dd', {}, this.enrolled)),
        tx(h('p', { class: 'note' }), 'device.keyNote'),
        this.enrollError, this.nonces, this.rekeyBtn, tx(h('p', { class: 'note' }), 'device.rekeyNote')),
      h('div', { class: 'card' },
        tx(h('h2', {}), 'device.account'), this.account, tx(h('p', { class: 'note' }), 'device.logoutNote'), logout),
      h('div', { class: 'card' },
        tx(h('h2', {}), 'device.storage'), this.storage,
        h('p', { class: 'note' }, h('span', { 'data-i18n': 'device.version' }, t('device.version')), ': ', APP_VERSION)));
  }

  render(d: DeviceInfoView): void {
    this.last = d;
    this.keyId.textContent = d.key?.keyId ?? t('detail.none');
    this.created.textContent = fmtTime(d.key?.createdAt);
    this.enrolled.textContent = d.key?.enrolledAt ? fmtTime(d.key.enrolledAt) : t('device.notEnrolled');
    this.enrolled.dataset.enrolled = d.key?.enrolledAt ?? '';
    this.enrollError.hidden = !d.enrollError;
    if (d.enrollError) tx(this.enrollError, 'device.enrollError', { detail: d.enrollError });
    tx(this.nonces, 'device.nonces', { n: d.nonces });
    if (d.email) tx(this.account, 'device.signedInAs', { email: d.email });
    this.storage.textContent = d.storage;
  }

  relabel(): void {
    if (this.last) this.render(this.last);
  }
}
