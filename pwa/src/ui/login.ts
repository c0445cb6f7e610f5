// Sign-in: email + password, token kept in IndexedDB.
import { ApiError } from '../shared/api';
import { tx } from '../i18n';
import { h, type View } from './dom';

export class LoginView implements View {
  readonly el: HTMLElement;
  private error: HTMLElement;
  private pending: HTMLElement;
  private submit: HTMLButtonElement;

  constructor(login: (email: string, password: string) => Promise<void>) {
    const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true, inputmode: 'email' });
    const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    this.submit = tx(h('button', { id: 'login', type: 'submit', class: 'btn primary wide' }), 'login.submit');
    this.error = h('p', { class: 'error', role: 'alert', hidden: true });
    this.pending = h('p', { class: 'note', hidden: true });
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
          else tx(this.error, 'login.failed', { detail: err instanceof ApiError ? err.detail : String(err) });
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
    this.el = h('section', { class: 'view login' }, form);
  }

  setPending(n: number): void {
    this.pending.hidden = n === 0;
    if (n) tx(this.pending, 'login.pending', { n });
  }

  focus(): void {
    (this.el.querySelector('#email') as HTMLInputElement | null)?.focus();
  }
}
