// Sign-in: email + password, token kept in IndexedDB.
import { ApiError, apiFetch, type SignupInfo } from '../shared/api';
import { tx, type Params } from '../i18n';
import { h, type View } from './dom';
import { problemParam } from './problems';

export class LoginView implements View {
  readonly el: HTMLElement;
  private error: HTMLElement;
  private pending: HTMLElement;
  private submit: HTMLButtonElement;
  private howTo: HTMLElement;

  constructor(login: (email: string, password: string) => Promise<void>) {
    const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true, inputmode: 'email' });
    const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    this.submit = tx(h('button', { id: 'login', type: 'submit', class: 'btn primary wide' }), 'login.submit');
    this.error = h('p', { class: 'error', role: 'alert', hidden: true });
    this.pending = h('p', { class: 'note', hidden: true });
    this.howTo = h('div', { class: 'card how-to', 'data-testid': 'signup-info', hidden: true });
    const form = h('form', { class: 'card form', novalidate: false, on: {
      submit: async (e) => {
        e.preventDefault();
        this.error.hidden = true;
        this.submit.disabled = true;
        tx(this.submit, 'login.busy');
        try {
          await login(email.value.trim(), password.value);
          password.value = '';
        } catch (err) {
          this.error.hidden = false;
          if (err instanceof ApiError && err.status === 0) tx(this.error, 'login.offline');
          else tx(this.error, 'login.failed', { detail: err instanceof ApiError ? problemParam(err) : String(err) });
        } finally {
          this.submit.disabled = false;
          tx(this.submit, 'login.submit');
        }
      },
    } },
    tx(h('h1', {}), 'login.title'),
    tx(h('p', { class: 'intro' }), 'login.intro'),
    h('div', { class: 'field' }, tx(h('label', { htmlFor: 'email' }), 'login.email'), email),
    h('div', { class: 'field' }, tx(h('label', { htmlFor: 'password' }), 'login.password'), password),
    this.error,
    this.submit,
    this.pending);
    this.el = h('section', { class: 'view login' }, form, this.howTo);
  }

  /** How to get an account on this server, and whom to ask (GET /auth/signup). */
  async show(): Promise<void> {
    let info: SignupInfo | null = null;
    try {
      info = await apiFetch<SignupInfo>('/auth/signup');
    } catch {
      /* an older server, or offline: nothing to say */
    }
    if (!info) return;
    const contact: Params = info.contact ? { contact: { raw: info.contact } } : {};
    const ask = info.contact ? 'login.howTo.contact' : 'login.howTo.noContact';
    const parts: HTMLElement[] = [tx(h('h2', {}), 'login.howTo.title')];
    if (info.mode === 'open') {
      parts.push(tx(h('p', {}), 'login.howTo.open'), tx(h('a', { class: 'btn secondary wide', href: '#/signup', 'data-testid': 'signup-link' }), 'login.howTo.create'));
    } else {
      parts.push(tx(h('p', {}), info.mode === 'invite' ? 'login.howTo.invite' : 'login.howTo.closed'), tx(h('p', {}), ask, contact));
    }
    parts.push(tx(h('p', { class: 'note' }), info.contact ? 'login.howTo.forgot' : 'login.howTo.forgotNoContact', contact));
    this.howTo.dataset.mode = info.mode;
    this.howTo.replaceChildren(...parts);
    this.howTo.hidden = false;
  }

  setPending(n: number): void {
    this.pending.hidden = n === 0;
    if (n) tx(this.pending, 'login.pending', { n });
  }

  focus(): void {
    (this.el.querySelector('#email') as HTMLInputElement | null)?.focus();
  }
}
