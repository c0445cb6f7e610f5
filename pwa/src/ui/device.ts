// The device screen: this device's key (re-key: the old one is revoked once
// what it signed has been sent), the account (password, where it is signed
// in, its device keys), storage and the app version.
import { t, tx, type Key, type Param, type Params } from '../i18n';
import { ApiError, apiFetch, type EnrolledDevice, type TokenInfo } from '../shared/api';
import type { KeyRecord } from '../shared/db';
import { APP_VERSION } from '../shared/protocol';
import { colon, h, type View } from './dom';
import { errorText, notAvailable, problemParam } from './problems';

export interface DeviceInfoView {
  key: KeyRecord | null;
  email: string | null;
  enrollError: Param | null;
  nonces: number;
  storage: { key: Key; params?: Params };
  revoking: string[]; // replaced keys not revoked yet
}

export interface DeviceActions {
  rekey(): Promise<void>;
  logout(): Promise<void>;
  token(): string | null;
  expired(): void;
  toast(text: string): void;
}

function timeSpan(iso: string | null | undefined): HTMLElement {
  const s = h('span', {});
  return iso ? tx(s, 'time.plain', { t: { time: iso } }) : tx(s, 'detail.none');
}

export class DeviceView implements View {
  readonly el: HTMLElement;
  private keyId: HTMLElement;
  private created: HTMLElement;
  private enrolled: HTMLElement;
  private enrollError: HTMLElement;
  private nonces: HTMLElement;
  private revoking: HTMLElement;
  private account: HTMLElement;
  private storage: HTMLElement;
  private rekeyBtn: HTMLButtonElement;
  private tokens: HTMLElement;
  private devices: HTMLElement;
  private last: DeviceInfoView | null = null;

  constructor(private actions: DeviceActions) {
    this.keyId = h('code', { class: 'hash', translate: 'no', 'data-testid': 'key-id' });
    this.created = h('span');
    this.enrolled = h('span', { 'data-testid': 'enrolled-at' });
    this.enrollError = h('p', { class: 'error', role: 'alert', hidden: true });
    this.nonces = h('p', { class: 'note' });
    this.revoking = h('p', { class: 'note', hidden: true, 'data-testid': 'revoking' });
    this.account = h('p');
    this.storage = h('p', { class: 'note' });
    this.rekeyBtn = tx(h('button', { type: 'button', class: 'btn secondary wide', 'data-testid': 'rekey' }), 'device.rekey');
    this.rekeyBtn.addEventListener('click', async () => {
      if (!confirm(t('device.rekeyConfirm'))) return;
      this.rekeyBtn.disabled = true;
      try {
        await actions.rekey();
        void this.loadDevices();
      } finally {
        this.rekeyBtn.disabled = false;
      }
    });
    const logout = tx(h('button', { type: 'button', class: 'btn secondary wide', 'data-testid': 'logout', on: { click: () => void actions.logout() } }), 'device.logout');
    this.tokens = h('ul', { class: 'plain-list', 'data-testid': 'tokens' });
    this.devices = h('ul', { class: 'plain-list', 'data-testid': 'devices' });
    this.el = h('section', { class: 'view device', 'aria-labelledby': 'device-title' },
      tx(h('h1', { id: 'device-title' }), 'device.title'),
      h('div', { class: 'card' },
        tx(h('h2', {}), 'device.keyTitle'),
        h('dl', { class: 'kv' },
          tx(h('dt'), 'device.keyId'), h('dd', {}, this.keyId),
          tx(h('dt'), 'device.created'), h('dd', {}, this.created),
          tx(h('dt'), 'device.enrolledAt'), h('dd', {}, this.enrolled)),
        tx(h('p', { class: 'note' }), 'device.keyNote'),
        this.enrollError, this.nonces, this.rekeyBtn, tx(h('p', { class: 'note' }), 'device.rekeyNote'), this.revoking),
      h('div', { class: 'card' },
        tx(h('h2', {}), 'device.account'), this.account, this.passwordForm(), tx(h('p', { class: 'note' }), 'device.logoutNote'), logout),
      h('details', { class: 'card', 'data-testid': 'tokens-section', on: { toggle: (e) => (e.target as HTMLDetailsElement).open && void this.loadTokens() } },
        h('summary', {}, tx(h('span', {}), 'device.tokens')), tx(h('p', { class: 'note' }), 'device.tokensNote'), this.tokens),
      h('details', { class: 'card', 'data-testid': 'devices-section', on: { toggle: (e) => (e.target as HTMLDetailsElement).open && void this.loadDevices() } },
        h('summary', {}, tx(h('span', {}), 'device.devices')), tx(h('p', { class: 'note' }), 'device.devicesNote'), this.devices),
      h('div', { class: 'card' },
        tx(h('h2', {}), 'device.storage'), this.storage,
        h('p', { class: 'note' }, tx(h('span', {}), 'device.version'), colon(), h('span', { translate: 'no' }, APP_VERSION))));
  }

  render(d: DeviceInfoView): void {
    this.last = d;
    this.keyId.textContent = d.key?.keyId ?? t('detail.none');
    this.created.replaceChildren(timeSpan(d.key?.createdAt));
    this.enrolled.replaceChildren(d.key?.enrolledAt ? timeSpan(d.key.enrolledAt) : tx(h('span', {}), 'device.notEnrolled'));
    this.enrolled.dataset.enrolled = d.key?.enrolledAt ?? '';
    this.enrollError.hidden = !d.enrollError;
    if (d.enrollError) tx(this.enrollError, 'device.enrollError', { detail: d.enrollError });
    tx(this.nonces, 'device.nonces', { n: d.nonces });
    this.revoking.hidden = !d.revoking.length;
    if (d.revoking.length) tx(this.revoking, 'device.revoking', { n: d.revoking.length });
    this.revoking.dataset.keys = d.revoking.join(' ');
    if (d.email) tx(this.account, 'device.signedInAs', { email: { raw: d.email } });
    tx(this.storage, d.storage.key, d.storage.params);
  }

  relabel(): void {
    if (this.last) this.render(this.last);
  }

  private fail(where: HTMLElement, err: unknown): void {
    if (err instanceof ApiError && err.status === 401) this.actions.expired();
    where.replaceChildren(h('li', { class: 'note' }, notAvailable(err) ? t('problem.not_available') : errorText(err)));
  }

  private passwordForm(): HTMLElement {
    const input = (id: string, ac: string) => h('input', { id, type: 'password', autocomplete: ac, required: true, 'data-testid': id });
    const current = input('pw-current', 'current-password');
    const next = input('pw-new', 'new-password');
    const again = input('pw-again', 'new-password');
    const msg = h('p', { class: 'note', 'aria-live': 'polite', 'data-testid': 'pw-message' });
    const submit = tx(h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'pw-submit' }), 'device.pwSubmit');
    const form = h('form', { class: 'form compact' },
      h('div', { class: 'field' }, tx(h('label', { htmlFor: current.id }), 'device.pwCurrent'), current),
      h('div', { class: 'field' }, tx(h('label', { htmlFor: next.id }), 'account.newPassword'), next),
      tx(h('p', { class: 'hint-text' }), 'account.passwordHint'),
      h('div', { class: 'field' }, tx(h('label', { htmlFor: again.id }), 'account.again'), again),
      submit, msg);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (next.value !== again.value) return void tx(msg, 'account.mismatch');
      submit.disabled = true;
      try {
        await apiFetch('/auth/password', { method: 'POST', token: this.actions.token(), json: { current: current.value, new: next.value } });
        form.reset();
        tx(msg, 'device.pwDone');
      } catch (err) {
        if (notAvailable(err)) tx(msg, 'problem.not_available');
        else tx(msg, 'account.failed', { detail: err instanceof ApiError ? problemParam(err) : errorText(err) });
      } finally {
        submit.disabled = false;
      }
    });
    return h('details', { class: 'sub', 'data-testid': 'password' }, h('summary', {}, tx(h('span', {}), 'device.pwTitle')), form);
  }

  private async loadTokens(): Promise<void> {
    try {
      const { items } = await apiFetch<{ items: TokenInfo[] }>('/auth/tokens', { token: this.actions.token() });
      this.tokens.replaceChildren(...items.map((tok) => {
        const li = h('li', { 'data-testid': 'token', 'data-current': String(tok.current) },
          h('strong', { translate: 'no' }, tok.label || '—'), tok.current ? tx(h('span', { class: 'badge status-anchored' }), 'device.thisOne') : null, h('br'),
          tx(h('span', { class: 'note' }), 'device.tokenMade', { time: { time: tok.created_at, utc: false } }),
          tok.expires_at ? h('br') : null,
          tok.expires_at ? tx(h('span', { class: 'note' }), 'device.tokenExpires', { time: { time: tok.expires_at, utc: false } }) : null);
        const btn = tx(h('button', { type: 'button', class: 'btn secondary small danger', 'data-testid': 'token-revoke' }), tok.current ? 'device.logout' : 'device.tokenRevoke');
        btn.addEventListener('click', async () => {
          if (tok.current) return void this.actions.logout();
          if (!confirm(t('device.tokenRevokeConfirm'))) return;
          btn.disabled = true;
          try {
            await apiFetch(`/auth/tokens/${encodeURIComponent(String(tok.id))}`, { method: 'DELETE', token: this.actions.token() });
            this.actions.toast(t('device.tokenRevoked'));
            await this.loadTokens();
          } catch (err) {
            btn.disabled = false;
            this.actions.toast(errorText(err));
          }
        });
        li.append(h('br'), btn);
        return li;
      }));
    } catch (err) {
      this.fail(this.tokens, err);
    }
  }

  private async loadDevices(): Promise<void> {
    try {
      const { items } = await apiFetch<{ items: EnrolledDevice[] }>('/devices', { token: this.actions.token() });
      const mine = this.last?.key?.keyId;
      this.devices.replaceChildren(...[...items].reverse().map((d) => {
        const li = h('li', { 'data-testid': 'device', 'data-key': d.key_id, 'data-revoked': String(!!d.revoked_at) },
          h('strong', { translate: 'no' }, d.label || '—'), d.key_id === mine ? tx(h('span', { class: 'badge status-anchored' }), 'device.thisKey') : null, h('br'),
          h('code', { class: 'hash', translate: 'no' }, d.key_id), h('br'),
          tx(h('span', { class: 'note' }), 'device.keyMade', { time: { time: d.created_at, utc: false } }),
          d.capture_count !== undefined ? h('span', { class: 'note' }, ' · ', t('device.keyCaptures', { n: d.capture_count })) : null,
          d.revoked_at ? h('br') : null,
          d.revoked_at ? tx(h('span', { class: 'flag-text' }), 'device.keyRevokedAt', { time: { time: d.revoked_at, utc: false } }) : null);
        if (!d.revoked_at && d.key_id !== mine) {
          const btn = tx(h('button', { type: 'button', class: 'btn secondary small danger', 'data-testid': 'device-revoke' }), 'device.keyRevoke');
          btn.addEventListener('click', async () => {
            if (!confirm(t('device.keyRevokeConfirm'))) return;
            btn.disabled = true;
            try {
              await apiFetch(`/devices/${encodeURIComponent(d.key_id)}`, { method: 'DELETE', token: this.actions.token() });
              this.actions.toast(t('device.keyRevoked'));
              await this.loadDevices();
            } catch (err) {
              btn.disabled = false;
              this.actions.toast(errorText(err));
            }
          });
          li.append(h('br'), btn);
        }
        return li;
      }));
    } catch (err) {
      this.fail(this.devices, err);
    }
  }
}
