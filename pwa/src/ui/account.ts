// Making an account (#/signup, with an invitation from #/signup?invite=...) and
// setting a new password from a reset link (#/reset?token=...). The links come
// from the server's operator (`fieldproof admin invite` / `reset-password`).
import { tx } from '../i18n';
import { ApiError, apiFetch, type SignupInfo } from '../shared/api';
import { h, type View } from './dom';
import { errorText, notAvailable, problemParam } from './problems';

function field(id: string, key: Parameters<typeof tx>[1], input: HTMLInputElement): HTMLElement {
  return h('div', { class: 'field' }, tx(h('label', { htmlFor: id }), key), input);
}

function passwords(prefix: string): { pw: HTMLInputElement; again: HTMLInputElement; fields: HTMLElement[]; check(): boolean } {
  const pw = h('input', { id: `${prefix}-password`, type: 'password', autocomplete: 'new-password', minlength: 8, maxlength: 1024, required: true, 'data-testid': `${prefix}-password` });
  const again = h('input', { id: `${prefix}-again`, type: 'password', autocomplete: 'new-password', required: true, 'data-testid': `${prefix}-again` });
  return {
    pw, again,
    fields: [field(pw.id, 'account.newPassword', pw), tx(h('p', { class: 'hint-text' }), 'account.passwordHint'), field(again.id, 'account.again', again)],
    check: () => pw.value === again.value,
  };
}

/** #/signup: an account with email and password, with the invitation when the server asks for one. */
export class SignupView implements View {
  readonly el: HTMLElement;
  private invite = '';
  private mode: HTMLElement;
  private error: HTMLElement;

  constructor(done: (token: string, email: string) => Promise<void>) {
    const email = h('input', { id: 'signup-email', type: 'email', autocomplete: 'username', inputmode: 'email', required: true, 'data-testid': 'signup-email' });
    const p = passwords('signup');
    const submit = tx(h('button', { type: 'submit', class: 'btn primary wide', 'data-testid': 'signup-submit' }), 'account.signupSubmit');
    this.error = h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'signup-error' });
    this.mode = h('p', { class: 'note' });
    const form = h('form', { class: 'card form' },
      tx(h('h1', {}), 'account.signupTitle'), this.mode,
      field(email.id, 'login.email', email), ...p.fields, this.error, submit,
      h('p', {}, tx(h('a', { href: '#/' }), 'account.haveAccount')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      this.error.hidden = true;
      if (!p.check()) {
        this.error.hidden = false;
        return void tx(this.error, 'account.mismatch');
      }
      submit.disabled = true;
      try {
        const res = await apiFetch<{ token: string }>('/auth/signup', {
          json: { email: email.value.trim(), password: p.pw.value, ...(this.invite ? { invite: this.invite } : {}) },
        });
        p.pw.value = p.again.value = '';
        await done(res.token, email.value.trim());
      } catch (err) {
        this.error.hidden = false;
        if (notAvailable(err)) tx(this.error, 'problem.not_available');
        else tx(this.error, 'account.failed', { detail: err instanceof ApiError ? problemParam(err) : errorText(err) });
      } finally {
        submit.disabled = false;
      }
    });
    this.el = h('section', { class: 'view signup' }, form);
  }

  async show(query?: string): Promise<void> {
    this.invite = new URLSearchParams(query ?? '').get('invite') ?? '';
    tx(this.mode, this.invite ? 'account.withInvite' : 'account.signupIntro');
    if (this.invite) return;
    try {
      const info = await apiFetch<SignupInfo>('/auth/signup');
      if (info.mode !== 'open') {
        this.error.hidden = false;
        tx(this.error, info.mode === 'invite' ? 'account.needInvite' : 'problem.signup_closed');
      }
    } catch {
      /* asked again on submit */
    }
  }
}

/** #/reset?token=...: a new password from a one-time link; every sign-in ends. */
export class ResetView implements View {
  readonly el: HTMLElement;
  private token = '';
  private error: HTMLElement;
  private form: HTMLElement;
  private done: HTMLElement;

  constructor() {
    const p = passwords('reset');
    const submit = tx(h('button', { type: 'submit', class: 'btn primary wide', 'data-testid': 'reset-submit' }), 'account.resetSubmit');
    this.error = h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'reset-error' });
    this.done = h('div', { class: 'card', hidden: true, 'data-testid': 'reset-done' },
      tx(h('p', { class: 'ok-text' }), 'account.resetDone'), tx(h('a', { class: 'btn primary wide', href: '#/' }), 'login.submit'));
    this.form = h('form', { class: 'card form' },
      tx(h('h1', {}), 'account.resetTitle'), tx(h('p', { class: 'note' }), 'account.resetIntro'),
      ...p.fields, this.error, submit);
    this.form.addEventListener('submit', async (e) => {
      e.preventDefault();
      this.error.hidden = true;
      if (!p.check()) {
        this.error.hidden = false;
        return void tx(this.error, 'account.mismatch');
      }
      submit.disabled = true;
      try {
        await apiFetch('/auth/reset', { json: { token: this.token, password: p.pw.value } });
        p.pw.value = p.again.value = '';
        this.form.hidden = true;
        this.done.hidden = false;
      } catch (err) {
        this.error.hidden = false;
        if (notAvailable(err)) tx(this.error, 'problem.not_available');
        else tx(this.error, 'account.failed', { detail: err instanceof ApiError ? problemParam(err) : errorText(err) });
      } finally {
        submit.disabled = false;
      }
    });
    this.el = h('section', { class: 'view reset' }, this.form, this.done);
  }

  show(query?: string): void {
    this.token = new URLSearchParams(query ?? '').get('token') ?? '';
    this.form.hidden = false;
    this.done.hidden = true;
    this.error.hidden = !!this.token;
    if (!this.token) tx(this.error, 'problem.reset_invalid');
  }
}
