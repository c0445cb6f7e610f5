// Cases: evidence grouped for one dispute, as a lawyer prepares it for a court.
// Each item has its number, a title and what it proves (证明目的); the server
// renders the evidence list (证据目录) as a signed PDF and exports the case as
// one zip of evidence bundles. A case can be shared by link.
import { fetchAndHand } from '../app/files';
import { fmtTime, placeholder, t, tx, type Key } from '../i18n';
import { ApiError, apiFetch, type Case, type CaseItem, type CaseSummary, type Party, type ServerCapture } from '../shared/api';
import type { AppCtx } from './ctx';
import { fill, h, type View } from './dom';
import { icon, isIcon } from './icons';
import { ShareLinks } from './links';
import { rowTitle } from './list';
import { errorText, notAvailable } from './problems';

const ROLE_KEYS: Key[] = ['cases.role.plaintiff', 'cases.role.defendant', 'cases.role.applicant', 'cases.role.respondent', 'cases.role.third', 'cases.role.witness'];

function roleList(): HTMLDataListElement {
  let list = document.getElementById('party-roles') as HTMLDataListElement | null;
  if (!list) list = h('datalist', { id: 'party-roles' });
  list.replaceChildren(...ROLE_KEYS.map((k) => h('option', { value: t(k) })));
  return list;
}

function partiesText(parties: Party[]): string {
  return parties.map((p) => (p.role ? `${p.role} ${p.name}` : p.name)).join(' · ');
}

/** Title, parties (role + name, as many as needed) and note: for a new case and for editing one. */
class CaseForm {
  readonly el: HTMLFormElement;
  private title: HTMLInputElement;
  private note: HTMLTextAreaElement;
  private parties: HTMLElement;
  private msg: HTMLElement;

  constructor(prefix: string, submitKey: Key, private submit: (body: { title: string; parties: Party[]; note: string }) => Promise<void>, initial?: CaseSummary) {
    this.title = h('input', { id: `${prefix}-title`, type: 'text', maxlength: 200, required: true, value: initial?.title ?? '', 'data-testid': 'case-title-input', autocomplete: 'off' });
    this.note = h('textarea', { id: `${prefix}-note`, rows: 3, maxlength: 10000, 'data-testid': 'case-note-input' });
    this.note.value = initial?.note ?? '';
    this.parties = h('div', { class: 'parties' });
    for (const p of initial?.parties ?? []) this.addParty(p);
    if (!initial?.parties.length) this.addParty();
    const addParty = tx(h('button', { type: 'button', class: 'btn secondary small', 'data-testid': 'party-add', on: { click: () => this.addParty() } }), 'cases.addParty');
    const save = tx(h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'case-save' }), submitKey);
    this.msg = h('p', { class: 'note', 'aria-live': 'polite' });
    this.el = h('form', { class: 'form' },
      h('div', { class: 'field' }, tx(h('label', { htmlFor: this.title.id }), 'cases.title'), this.title),
      h('fieldset', { class: 'field' }, tx(h('legend', {}), 'cases.parties'), this.parties, addParty),
      h('div', { class: 'field' }, tx(h('label', { htmlFor: this.note.id }), 'cases.note'), this.note),
      roleList(), save, this.msg);
    this.el.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!this.title.value.trim()) return void tx(this.msg, 'cases.titleNeeded');
      save.disabled = true;
      try {
        await this.submit({ title: this.title.value.trim(), parties: this.read(), note: this.note.value });
      } catch (err) {
        if (notAvailable(err)) tx(this.msg, 'problem.not_available');
        else this.msg.textContent = errorText(err);
      } finally {
        save.disabled = false;
      }
    });
  }

  private addParty(p?: Party): void {
    const n = this.parties.children.length;
    const role = placeholder(h('input', { type: 'text', list: 'party-roles', maxlength: 100, value: p?.role ?? '', class: 'party-role', 'data-testid': 'party-role' }), 'cases.role');
    const name = placeholder(h('input', { type: 'text', maxlength: 200, value: p?.name ?? '', class: 'party-name', 'data-testid': 'party-name' }), 'cases.partyName');
    role.setAttribute('aria-label', t('cases.role'));
    name.setAttribute('aria-label', t('cases.partyName'));
    role.dataset.i18nAria = 'cases.role';
    name.dataset.i18nAria = 'cases.partyName';
    this.parties.append(h('div', { class: 'party', 'data-index': n }, role, name));
  }

  private read(): Party[] {
    return [...this.parties.querySelectorAll('.party')].map((row) => ({
      role: (row.querySelector('.party-role') as HTMLInputElement).value.trim(),
      name: (row.querySelector('.party-name') as HTMLInputElement).value.trim(),
    })).filter((p) => p.name);
  }

  reset(): void {
    this.el.reset();
    this.parties.replaceChildren();
    this.addParty();
  }
}

/** #/cases: the cases, and a new one. */
export class CasesView implements View {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private status: HTMLElement;
  private form: CaseForm;
  private cases: CaseSummary[] = [];

  constructor(private ctx: AppCtx) {
    this.list = h('ul', { class: 'case-list', 'data-testid': 'cases' });
    this.status = h('p', { class: 'note', 'aria-live': 'polite' });
    this.form = new CaseForm('case-new', 'cases.create', async (body) => {
      const made = await apiFetch<CaseSummary>('/cases', { token: ctx.token(), json: body });
      this.form.reset();
      ctx.navigate(`#/cases/${encodeURIComponent(made.id)}`);
    });
    this.el = h('section', { class: 'view cases', 'aria-labelledby': 'cases-title' },
      tx(h('h1', { id: 'cases-title' }), 'cases.heading'),
      tx(h('p', { class: 'intro' }), 'cases.intro'),
      h('details', { class: 'card new-case', 'data-testid': 'case-new' },
        h('summary', {}, icon('cases'), ' ', tx(h('span', {}), 'cases.new')), this.form.el),
      this.status, this.list);
  }

  async show(): Promise<void> {
    try {
      this.cases = (await apiFetch<{ items: CaseSummary[] }>('/cases', { token: this.ctx.token() })).items;
      this.status.textContent = '';
      this.render();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.ctx.expired();
      if (notAvailable(err)) tx(this.status, 'problem.not_available');
      else tx(this.status, 'err.generic', { detail: errorText(err) });
    }
  }

  private render(): void {
    if (!this.cases.length) return void this.list.replaceChildren(tx(h('li', { class: 'empty' }), 'cases.none'));
    this.list.replaceChildren(...[...this.cases].sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1)).map((c) =>
      h('li', {}, h('a', { class: 'case-row', href: `#/cases/${encodeURIComponent(c.id)}`, 'data-testid': 'case-item', 'data-id': c.id },
        h('span', { class: 'thumb' }, icon('cases')),
        h('span', { class: 'row-main' },
          h('span', { class: 'row-title', translate: 'no' }, c.title),
          c.parties.length ? h('span', { class: 'row-meta', translate: 'no' }, partiesText(c.parties)) : null,
          h('span', { class: 'row-detail' },
            c.item_count !== undefined ? t('cases.count', { n: c.item_count }) : '', c.item_count !== undefined ? ' · ' : '',
            t('cases.updated', { time: { time: c.updated_at, utc: false } })))))));
  }

  relabel(): void {
    this.render();
  }
}

/** #/cases/<id>: one case, its items in order, its documents and links. */
export class CaseView implements View {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private case: Case | null = null;
  private links: ShareLinks | null = null;

  constructor(private ctx: AppCtx) {
    this.body = h('div', { class: 'case-body' });
    this.el = h('section', { class: 'view case', 'data-testid': 'case-detail', 'aria-labelledby': 'case-title' },
      h('a', { class: 'btn secondary back', href: '#/cases' }, tx(h('span', {}), 'cases.back')), this.body);
  }

  async show(id?: string): Promise<void> {
    if (!id) return;
    if (this.case?.id !== id) {
      this.case = null;
      this.links = null;
      this.body.replaceChildren(tx(h('p', { class: 'note' }), 'cases.loading'));
    }
    await this.load(id);
  }

  private async load(id: string): Promise<void> {
    try {
      this.case = await apiFetch<Case>(`/cases/${encodeURIComponent(id)}`, { token: this.ctx.token() });
      this.case.items.sort((a, b) => a.position - b.position);
      this.render();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.ctx.expired();
      this.body.replaceChildren(h('p', { class: 'error' }, notAvailable(err) ? t('problem.not_available') : errorText(err)));
    }
  }

  private async call(fn: () => Promise<unknown>, reload = true): Promise<void> {
    let failed = false;
    try {
      await fn();
    } catch (err) {
      failed = true;
      if (err instanceof ApiError && err.status === 401) this.ctx.expired();
      this.ctx.toast(notAvailable(err) ? t('problem.not_available') : errorText(err));
    }
    // after a failure, show what the server has
    if ((reload || failed) && this.case) await this.load(this.case.id);
  }

  relabel(): void {
    if (this.case) this.render();
  }

  private render(): void {
    const c = this.case!;
    const path = `/cases/${encodeURIComponent(c.id)}`;
    const edit = new CaseForm('case-edit', 'cases.saveCase', async (body) => {
      await apiFetch(path, { method: 'PATCH', token: this.ctx.token(), json: body });
      this.ctx.toast(t('annot.saved'));
      await this.load(c.id);
    }, c);
    const del = tx(h('button', { type: 'button', class: 'btn secondary danger', 'data-testid': 'case-delete' }), 'cases.delete');
    del.addEventListener('click', async () => {
      if (!confirm(t('cases.deleteConfirm'))) return;
      await this.call(async () => {
        await apiFetch(path, { method: 'DELETE', token: this.ctx.token() });
        this.ctx.navigate('#/cases');
      }, false);
    });
    const doc = (ic: 'certificate' | 'download' | 'share', key: Key, testid: string, fn: () => Promise<unknown>) => {
      const b = h('button', { type: 'button', class: 'btn secondary', 'data-testid': testid }, icon(ic), tx(h('span', {}), key));
      b.addEventListener('click', async () => {
        b.disabled = true;
        await this.call(fn, false);
        b.disabled = false;
      });
      return b;
    };
    this.links ??= new ShareLinks(this.ctx, 'case', c.id, () => this.case?.title ?? '');
    const links = this.links;
    const shareBox = h('details', { class: 'card share-box', 'data-testid': 'case-share' },
      h('summary', {}, icon('share'), ' ', tx(h('span', {}), 'cases.share')), links.el);
    shareBox.addEventListener('toggle', () => {
      if ((shareBox as HTMLDetailsElement).open) void links.show();
    });
    fill(this.body, 
      h('h1', { id: 'case-title', translate: 'no', 'data-testid': 'case-title' }, c.title),
      c.parties.length ? h('ul', { class: 'party-list' }, ...c.parties.map((p) =>
        h('li', { translate: 'no' }, p.role ? h('strong', {}, p.role) : null, p.role ? ' ' : null, p.name))) : null,
      c.note ? h('p', { class: 'case-note', translate: 'no' }, c.note) : null,
      h('div', { class: 'button-row' },
        doc('certificate', 'cases.evidenceList', 'evidence-list', () => fetchAndHand(`${path}/evidence-list.pdf`, this.ctx.token(), `evidence-list-${c.id}.pdf`, c.title, false)),
        doc('download', 'cases.export', 'case-export', () => fetchAndHand(`${path}/export`, this.ctx.token(), `case-${c.id}.zip`, c.title, false)),
        doc('share', 'cases.sendExport', 'case-send', () => fetchAndHand(`${path}/export`, this.ctx.token(), `case-${c.id}.zip`, c.title, true))),
      tx(h('h2', {}), 'cases.items', { n: c.items.length }),
      c.items.length ? h('ol', { class: 'case-items', 'data-testid': 'case-items' }, ...c.items.map((it, i) => this.itemLine(it, i, c.items.length)))
        : tx(h('p', { class: 'empty' }), 'cases.noItems'),
      this.picker(c),
      shareBox,
      h('details', { class: 'card', 'data-testid': 'case-edit' }, h('summary', {}, tx(h('span', {}), 'cases.edit')), edit.el, del));
  }

  private itemLine(it: CaseItem, index: number, count: number): HTMLElement {
    const c = this.case!;
    const itemPath = `/cases/${encodeURIComponent(c.id)}/items/${encodeURIComponent(it.capture_id)}`;
    const cap = it.capture;
    const fallback = rowTitle({ key: '', localId: null, serverId: cap.id, status: cap.status, kind: cap.kind, sha256: null, time: cap.received_at, item: null, server: cap });
    const uid = `item-${index}`;
    const title = h('input', { id: `${uid}-title`, type: 'text', maxlength: 200, value: it.title, placeholder: fallback, 'data-testid': 'item-title' });
    const purpose = h('textarea', { id: `${uid}-purpose`, rows: 2, maxlength: 2000, 'data-testid': 'item-purpose' });
    purpose.value = it.purpose;
    // Saved in place, without drawing the case again: the person may be typing in
    // the next item's box by the time the answer comes.
    const patch = (body: Record<string, unknown>) => this.call(async () => {
      Object.assign(it, await apiFetch<CaseItem>(itemPath, { method: 'PATCH', token: this.ctx.token(), json: body }));
      this.ctx.toast(t('annot.saved'));
    }, false);
    const move = (position: number) => this.call(() => apiFetch(itemPath, { method: 'PATCH', token: this.ctx.token(), json: { position } }));
    title.addEventListener('change', () => void patch({ title: title.value.trim() }));
    purpose.addEventListener('change', () => void patch({ purpose: purpose.value.trim() }));
    const thumb = h('span', { class: `thumb kind-${cap.kind}` }, icon(isIcon(cap.kind) ? cap.kind : 'file'));
    void this.ctx.thumbs.forCapture(cap.id).then((url) => {
      if (url) thumb.replaceChildren(h('img', { src: url, alt: '' }));
    });
    const btn = (ic: 'up' | 'down' | 'remove', key: Key, testid: string, disabled: boolean, fn: () => Promise<void>) => {
      const b = aria(h('button', { type: 'button', class: 'icon-btn', 'data-testid': testid, disabled }, icon(ic)), key);
      b.addEventListener('click', () => void fn());
      return b;
    };
    return h('li', { class: 'case-item card', 'data-testid': 'case-entry', 'data-capture': cap.id, 'data-position': it.position },
      h('div', { class: 'item-head' },
        h('span', { class: 'item-number' }, t('cases.number', { n: index + 1 })),
        h('a', { href: `#/list/${encodeURIComponent(`s:${cap.id}`)}`, class: 'item-open' }, thumb,
          h('span', { class: 'row-main' },
            h('span', { class: 'row-title', translate: 'no' }, it.title || fallback),
            h('span', { class: 'row-meta' }, t(`kind.${cap.kind}` as Key), ' · ', fmtTime(cap.received_at, { utc: false })))),
        h('span', { class: 'item-buttons' },
          btn('up', 'cases.up', 'item-up', index === 0, () => move(it.position - 1)),
          btn('down', 'cases.down', 'item-down', index === count - 1, () => move(it.position + 1)),
          btn('remove', 'cases.remove', 'item-remove', false, async () => {
            if (!confirm(t('cases.removeConfirm'))) return;
            await this.call(() => apiFetch(itemPath, { method: 'DELETE', token: this.ctx.token() }));
          }))),
      h('div', { class: 'field' }, tx(h('label', { htmlFor: title.id }), 'cases.itemTitle'), title),
      h('div', { class: 'field' }, tx(h('label', { htmlFor: purpose.id }), 'cases.purpose'), purpose));
  }

  /** Add captures to the case: the ones the server has, not in it yet. */
  private picker(c: Case): HTMLElement {
    const inCase = new Set(c.items.map((i) => i.capture_id));
    const list = h('ul', { class: 'pick-list', 'data-testid': 'pick-list' });
    const add = tx(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'pick-add' }), 'cases.addSelected');
    const fill = () => {
      const choices = this.ctx.captures().filter((s: ServerCapture) => !inCase.has(s.id));
      list.replaceChildren(...(choices.length ? choices.map((s) => {
        const id = `pick-${s.id}`;
        const title = rowTitle({ key: '', localId: null, serverId: s.id, status: s.status, kind: s.kind, sha256: null, time: s.received_at, item: null, server: s });
        return h('li', {}, h('input', { type: 'checkbox', id, value: s.id, 'data-testid': 'pick' }),
          h('label', { htmlFor: id }, h('span', { translate: s.title ? 'no' : null }, title), ' · ', h('span', { class: 'note' }, fmtTime(s.received_at, { utc: false }))));
      }) : [tx(h('li', { class: 'note' }), 'cases.nothingToAdd')]));
      add.hidden = !choices.length;
    };
    add.addEventListener('click', async () => {
      // An evidence list runs in time order: the picked captures go in oldest first
      // (the list shows them newest first); the arrows reorder them after.
      const when = new Map(this.ctx.captures().map((s) => [s.id, s.received_at]));
      const ids = [...list.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value)
        .sort((a, b) => (when.get(a) ?? '').localeCompare(when.get(b) ?? ''));
      if (!ids.length) return;
      add.disabled = true;
      await this.call(async () => {
        for (const id of ids) await apiFetch(`/cases/${encodeURIComponent(c.id)}/items`, { token: this.ctx.token(), json: { capture_id: id } });
        this.ctx.toast(t('cases.added'));
      });
      add.disabled = false;
    });
    const box = h('details', { class: 'card', 'data-testid': 'case-add' }, h('summary', {}, icon('list'), ' ', tx(h('span', {}), 'cases.addEvidence')), list, add);
    box.addEventListener('toggle', () => {
      if ((box as HTMLDetailsElement).open) fill();
    });
    return box;
  }
}

function aria<E extends HTMLElement>(el: E, key: Key): E {
  el.setAttribute('aria-label', t(key));
  el.dataset.i18nAria = key;
  el.title = t(key);
  return el;
}
