// 文字稿: the transcript of a recording, under its player in the capture detail
// (owner only). No transcript yet: ask the server's speech recognition for a
// machine draft (and watch the job), or type it yourself. With a version: one
// row per part (time code that plays it, speaker, words, key point), then
// "Save and sign": a new human version signed with this device's key, chained
// to the version the edit started from. Logic: src/app/transcript.ts.
import { fetchAndHand } from '../app/files';
import {
  buildNextVersion,
  fmtCode,
  getTranscript,
  insertAt,
  INAUDIBLE,
  isActive,
  parseCode,
  partsFrom,
  rowAfter,
  rowsFrom,
  saveVersion,
  signVersion,
  startTranscript,
  TranscriptDocError,
  transcriptPdfPath,
  LIMITS,
  type CaptureRef,
  type EditRow,
  type KeyPoint,
  type TranscriptState,
  type TranscriptVersion,
} from '../app/transcript';
import { aria, placeholder, t, timeEl, tx, type Key, type Params } from '../i18n';
import { ApiError } from '../shared/api';
import { h } from './dom';
import { icon } from './icons';
import { errorText, notAvailable, problemParam } from './problems';

export interface TranscriptDeps {
  capture: CaptureRef;
  token(): string | null;
  expired(): void;
  toast(text: string): void;
  /** The player of the recording, once it is loaded. */
  media(): HTMLMediaElement | null;
  /** The device key id to sign with (enrolled with this account). */
  keyId(): Promise<string>;
  /** What the capture is called (for sharing the PDF). */
  title(): string;
}

/** An edit in progress: the version it started from (null: typed from scratch). */
interface Edit {
  base: TranscriptVersion | null;
  language: string | null;
  rows: EditRow[];
  loose: KeyPoint[];
  baseline: string;
  /** The last signed body and the content it signed: a retry of the same content
   * sends the same bytes (the server answers with the version it made). */
  signed?: { content: string; base: string | null; body: { document: string; signature: string } };
}

const POLL_MS = 2000;
const PAGE = 100; // rows rendered at once (a long recording has thousands)
const LANGS = ['auto', 'zh', 'en'] as const;

/** Show a message (or nothing) in `el`: the text sits in a child, so `el` itself carries no key. */
function say(el: HTMLElement, key: Key | null, params?: Params, state?: string): void {
  el.replaceChildren(...(key ? [tx(h('span', {}), key, params)] : []));
  if (state) el.dataset.state = state;
  else delete el.dataset.state;
}

function sayText(el: HTMLElement, text: string, state?: string): void {
  el.replaceChildren(text);
  if (state) el.dataset.state = state;
  else delete el.dataset.state;
}

function contentOf(e: Pick<Edit, 'rows' | 'loose'>): string {
  return JSON.stringify(partsFrom(e.rows, e.loose));
}

export class TranscriptPanel {
  readonly el: HTMLDetailsElement;
  private summaryExtra: HTMLElement;
  private status: HTMLElement;
  private startBox: HTMLElement;
  private language: HTMLSelectElement;
  private startBtn: HTMLButtonElement;
  private banner: HTMLElement;
  private editor: HTMLElement;
  private list: HTMLOListElement;
  private more: HTMLButtonElement;
  private looseBox: HTMLElement;
  private saveBtn: HTMLButtonElement;
  private msg: HTMLElement;
  private pdfBtn: HTMLButtonElement;
  private pdfRow: HTMLElement;
  private versions: HTMLElement;
  private speakers: HTMLDataListElement;

  private data: TranscriptState | null = null;
  private edit: Edit | null = null;
  private shownRows = PAGE;
  private loading: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dirtyTimer: ReturnType<typeof setTimeout> | null = null;
  private saving = false;
  private destroyed = false;
  private startError: ApiError | null = null;
  private stopAt: number | null = null;
  private watched: HTMLMediaElement | null = null;

  constructor(private deps: TranscriptDeps) {
    const uid = deps.capture.id.replace(/[^A-Za-z0-9_-]/g, '');
    this.summaryExtra = h('span', { class: 'summary-extra' });
    this.status = h('div', { class: 'transcript-status', 'data-testid': 'transcript-status', role: 'status', 'aria-live': 'polite' });
    this.language = h('select', { id: `transcript-lang-${uid}`, 'data-testid': 'transcript-language' });
    for (const l of LANGS) this.language.append(tx(h('option', { value: l }), `transcript.lang.${l}` as Key));
    this.startBtn = tx(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'transcript-start', on: { click: () => void this.start() } }), 'transcript.start');
    const manual = tx(h('button', { type: 'button', class: 'btn secondary', 'data-testid': 'transcript-manual', on: { click: () => this.typeIt() } }), 'transcript.manual');
    this.startBox = h('div', { class: 'transcript-start' },
      h('div', { class: 'field' }, tx(h('label', { htmlFor: this.language.id }), 'transcript.language'), this.language),
      h('div', { class: 'button-row' }, this.startBtn, manual));
    this.speakers = h('datalist', { id: `transcript-speakers-${uid}` });
    this.banner = h('p', { class: 'transcript-banner', 'data-testid': 'transcript-banner' });
    this.list = h('ol', { class: 'transcript-rows' });
    this.more = h('button', { type: 'button', class: 'btn secondary wide', 'data-testid': 'transcript-more', on: { click: () => this.showMore() } });
    this.looseBox = h('div', { class: 'transcript-loose' });
    this.saveBtn = tx(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'transcript-save', disabled: true, on: { click: () => void this.save() } }), 'transcript.save');
    this.editor = h('div', { class: 'transcript-editor', hidden: true },
      this.banner, this.list, this.more, this.looseBox,
      h('div', { class: 'button-row transcript-save-row' }, this.saveBtn));
    this.msg = h('p', { class: 'note transcript-msg', 'aria-live': 'polite', 'data-testid': 'transcript-msg' });
    this.pdfBtn = h('button', { type: 'button', class: 'btn secondary', 'data-testid': 'transcript-pdf', disabled: true, on: { click: () => void this.pdf() } },
      icon('download'), tx(h('span', {}), 'transcript.pdf'));
    this.pdfRow = h('div', { class: 'button-row', hidden: true }, this.pdfBtn);
    this.versions = h('div', { class: 'transcript-versions' });
    this.el = h('details', { class: 'card transcript', open: true, 'data-testid': 'transcript-panel' },
      h('summary', {}, tx(h('span', { class: 'summary-title' }), 'transcript.title'), this.summaryExtra),
      tx(h('p', { class: 'note' }), 'transcript.intro'),
      this.status, this.startBox, this.speakers, this.editor, this.msg,
      this.pdfRow,
      this.versions);
    this.startBox.hidden = true;
  }

  /** The detail view shows this panel (again): load it, or go on watching the job. */
  shown(): void {
    if (this.destroyed) return;
    if (!this.data) void this.load();
    else if (isActive(this.data.job)) this.poll();
  }

  /** After a language switch: what was made with t() rather than tx(). */
  relabel(): void {
    this.fillSpeakers();
  }

  /** Another capture is shown: no more requests, no more playback control. */
  destroy(): void {
    this.destroyed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.dirtyTimer) clearTimeout(this.dirtyTimer);
    this.timer = this.dirtyTimer = null;
    this.unwatch();
  }

  // -- loading and the job ----------------------------------------------------------------

  private load(): Promise<void> {
    this.loading ??= this.loadOnce().finally(() => (this.loading = null));
    return this.loading;
  }

  private async loadOnce(): Promise<void> {
    if (!this.data) {
      say(this.status, 'transcript.loading', undefined, 'loading');
      this.status.setAttribute('aria-busy', 'true');
    }
    try {
      const s = await getTranscript(this.deps.capture.id, this.deps.token());
      if (this.destroyed) return;
      this.data = s;
      this.startError = null;
      // A new version replaces what is shown unless the person has changed it.
      if (s.latest && (!this.edit || (!this.isDirty() && this.edit.base?.sha256 !== s.latest.sha256))) this.begin(s.latest);
    } catch (err) {
      if (this.destroyed) return;
      if (err instanceof ApiError && err.status === 401) this.deps.expired();
      if (notAvailable(err)) {
        this.el.hidden = true; // an older server: no transcripts there
        return;
      }
      this.status.removeAttribute('aria-busy');
      sayText(this.status, errorText(err), 'error');
      // a network hiccup while a job runs: keep watching it
      if (this.data && isActive(this.data.job) && !(err instanceof ApiError && err.status === 401)) this.poll();
      return;
    }
    this.renderState();
    if (isActive(this.data.job)) this.poll();
  }

  /** Ask again in a while, as long as the job runs and the panel is on screen. */
  private poll(): void {
    if (this.timer || this.destroyed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.destroyed || !this.el.isConnected) return; // shown() starts it again
      void this.load();
    }, POLL_MS);
  }

  private async start(): Promise<void> {
    const l = this.language.value;
    this.startBtn.disabled = true;
    say(this.msg, null);
    try {
      const job = await startTranscript(this.deps.capture.id, this.deps.token(), l === 'auto' ? null : l);
      this.startError = null;
      this.data = { job, latest: this.data?.latest ?? null, versions: this.data?.versions ?? [] };
      this.renderState();
      this.poll();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.deps.expired();
      if (err instanceof ApiError && err.code === 'transcript_busy') return void (await this.load());
      this.startError = err instanceof ApiError ? err : new ApiError(0, 'network', String(err));
      this.renderState();
    } finally {
      this.startBtn.disabled = false;
    }
  }

  /** No speech recognition (or none wanted): an empty human transcript of one part. */
  private typeIt(): void {
    const l = this.language.value;
    const m = this.deps.media();
    const duration = m && Number.isFinite(m.duration) ? Math.round(m.duration * 1000) : null;
    const rows = [rowAfter([], -1, duration)];
    this.edit = { base: null, language: l === 'auto' ? null : l, rows, loose: [], baseline: contentOf({ rows, loose: [] }) };
    this.shownRows = PAGE;
    this.renderRows();
    this.renderState();
    this.list.querySelector<HTMLTextAreaElement>('textarea')?.focus();
  }

  private begin(v: TranscriptVersion): void {
    const { rows, loose } = rowsFrom(v.document);
    this.edit = { base: v, language: v.document.language, rows, loose, baseline: contentOf({ rows, loose }) };
    this.shownRows = PAGE;
    this.renderRows();
  }

  // -- what is shown --------------------------------------------------------------------

  private renderState(): void {
    const s = this.data;
    const job = s?.job ?? null;
    const latest = s?.latest ?? null;
    this.status.removeAttribute('aria-busy');
    this.status.replaceChildren();
    delete this.status.dataset.state;
    if (isActive(job)) {
      this.status.dataset.state = 'working';
      this.status.append(h('p', { class: 'transcript-working' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), tx(h('span', {}), 'transcript.working')),
        tx(h('p', { class: 'hint-text' }), 'transcript.workingHint'));
    } else if (this.startError) {
      this.status.dataset.state = 'failed';
      this.status.append(tx(h('p', { class: 'flag-text', 'data-testid': 'transcript-error' }), 'transcript.startFailed', { reason: problemParam(this.startError) }));
    } else if (job?.state === 'failed' && !latest) {
      this.status.dataset.state = 'failed';
      this.status.append(tx(h('p', { class: 'flag-text', 'data-testid': 'transcript-error' }), 'transcript.failed', { reason: problemParam({ code: job.code || 'asr_failed' }) }));
    } else if (!latest && !this.edit) {
      this.status.dataset.state = 'none';
      this.status.append(tx(h('p', {}), 'transcript.none'));
    }
    // Start (again) while there is no version and nothing runs; typing it is offered too.
    this.startBox.hidden = !!latest || !!this.edit || isActive(job);
    tx(this.startBtn, job?.state === 'failed' || this.startError ? 'transcript.retry' : 'transcript.start');
    this.editor.hidden = !this.edit;
    this.pdfBtn.disabled = !latest;
    this.pdfRow.hidden = !latest; // the PDF is of a saved version
    this.renderBanner();
    this.renderVersions();
  }

  private renderBanner(): void {
    const e = this.edit;
    const dirty = this.isDirty();
    this.saveBtn.disabled = !dirty || this.saving;
    if (!e) {
      this.summaryExtra.replaceChildren();
      return;
    }
    const origin = e.base?.origin ?? null;
    this.banner.dataset.origin = origin ?? 'new';
    this.banner.classList.toggle('draft', origin !== 'human');
    say(this.banner, !e.base ? 'transcript.new' : origin === 'machine' ? 'transcript.machine' : 'transcript.human', e.base ? { n: e.base.version } : undefined);
    this.banner.firstElementChild?.classList.add('transcript-banner-main');
    if (dirty) this.banner.append(' · ', tx(h('span', { class: 'transcript-changed', 'data-testid': 'transcript-changed' }), 'transcript.changed'));
    if (origin === 'machine' && !dirty) this.banner.append(tx(h('span', { class: 'hint-text transcript-hint' }), 'transcript.machineHint'));
    this.summaryExtra.replaceChildren(...(e.base ? [origin === 'machine'
      ? tx(h('span', {}), 'transcript.origin.machine') : tx(h('span', {}), 'transcript.version', { n: e.base.version })] : []));
  }

  private renderVersions(): void {
    const vs = [...(this.data?.versions ?? [])].sort((a, b) => b.version - a.version);
    if (!vs.length) {
      this.versions.replaceChildren();
      return;
    }
    const ol = h('ol', { class: 'plain-list transcript-version-list', reversed: true });
    for (const v of vs) {
      ol.append(h('li', { 'data-testid': 'transcript-version', 'data-version': String(v.version), 'data-origin': v.origin },
        tx(h('strong', {}), 'transcript.version', { n: v.version }), ' · ',
        tx(h('span', { class: `origin-${v.origin}` }), v.origin === 'machine' ? 'transcript.origin.machine' : 'transcript.origin.human'), h('br'),
        h('span', { class: 'hint-text' }, timeEl(v.created_at, { utc: false }), ' · ',
          h('code', { class: 'hash', translate: 'no', title: v.sha256 }, `${v.sha256.slice(0, 12)}…`))));
    }
    this.versions.replaceChildren(tx(h('h3', {}), 'transcript.versions'), ol);
  }

  // -- the rows -------------------------------------------------------------------------

  private renderRows(focus?: number): void {
    const e = this.edit;
    if (!e) return;
    const count = Math.min(e.rows.length, Math.max(this.shownRows, (focus ?? -1) + 1));
    this.shownRows = Math.max(this.shownRows, count);
    const items: HTMLElement[] = [];
    for (let i = 0; i < count; i++) items.push(this.row(e, i));
    if (!e.rows.length) {
      items.push(h('li', { class: 'transcript-empty' },
        h('button', { type: 'button', class: 'btn secondary', 'data-testid': 'transcript-add', on: { click: () => this.add(-1) } }, icon('plus'), tx(h('span', {}), 'transcript.addFirst'))));
    }
    this.list.replaceChildren(...items);
    const rest = e.rows.length - count;
    this.more.hidden = rest <= 0;
    if (rest > 0) tx(this.more, 'transcript.more', { n: Math.min(rest, PAGE) });
    this.renderLoose();
    this.fillSpeakers();
    this.renderBanner();
    if (focus !== undefined) this.list.querySelectorAll<HTMLTextAreaElement>('textarea.transcript-text')[focus]?.focus();
  }

  private showMore(): void {
    this.shownRows += PAGE;
    this.renderRows();
  }

  private row(e: Edit, i: number): HTMLElement {
    const r = e.rows[i];
    const n = i + 1;
    const time = h('button', { type: 'button', class: 'transcript-time', 'data-testid': 'transcript-time', on: { click: () => this.play(r) } },
      icon('play'), h('span', { translate: 'no' }, `${fmtCode(r.start_ms)}–${fmtCode(r.end_ms)}`));
    aria(time, 'transcript.play', { time: fmtCode(r.start_ms) });

    const speaker = h('input', { type: 'text', class: 'transcript-speaker', list: this.speakers.id, maxlength: LIMITS.speaker, value: r.speaker, autocomplete: 'off', 'data-testid': 'transcript-speaker' });
    aria(speaker, 'transcript.speaker');
    placeholder(speaker, 'transcript.speaker');
    speaker.addEventListener('input', () => {
      r.speaker = speaker.value;
      this.changed();
    });
    speaker.addEventListener('change', () => this.fillSpeakers());

    const text = h('textarea', { class: 'transcript-text', rows: 2, 'data-testid': 'transcript-text', lang: e.language ?? undefined });
    text.value = r.text;
    aria(text, 'transcript.text', { n });
    text.addEventListener('input', () => {
      r.text = text.value;
      this.changed();
    });

    const label = h('input', { type: 'text', class: 'transcript-keypoint-label', maxlength: LIMITS.label, value: r.key ?? '', autocomplete: 'off', 'data-testid': 'transcript-keypoint-label' });
    aria(label, 'transcript.keyPointLabel');
    placeholder(label, 'transcript.keyPointHint');
    const labelField = h('div', { class: 'transcript-keypoint-field', hidden: r.key === null },
      tx(h('span', { class: 'hint-text' }), 'transcript.keyPointLabel'), label);
    label.addEventListener('input', () => {
      r.key = label.value;
      this.changed();
    });
    const keyBtn = h('button', { type: 'button', class: 'transcript-tool transcript-keypoint', 'aria-pressed': String(r.key !== null), 'data-testid': 'transcript-keypoint' },
      h('span', { class: 'star', 'aria-hidden': 'true' }, '★'), tx(h('span', {}), 'transcript.keyPoint'));
    keyBtn.addEventListener('click', () => {
      const on = r.key === null;
      r.key = on ? label.value : null;
      keyBtn.setAttribute('aria-pressed', String(on));
      labelField.hidden = !on;
      li.classList.toggle('key', on);
      if (on) label.focus();
      this.changed();
    });

    const inaudible = h('button', { type: 'button', class: 'transcript-tool transcript-inaudible', translate: 'no', 'data-testid': 'transcript-inaudible' }, INAUDIBLE);
    aria(inaudible, 'transcript.inaudible');
    // keep the caret in the text: a tap on the button must not take the focus first
    inaudible.addEventListener('pointerdown', (ev) => ev.preventDefault());
    inaudible.addEventListener('click', () => {
      const focused = document.activeElement === text;
      const at = focused || text.selectionStart !== null ? [text.selectionStart ?? text.value.length, text.selectionEnd ?? text.value.length] : [text.value.length, text.value.length];
      const out = insertAt(text.value, at[0], at[1], INAUDIBLE);
      text.value = out.text;
      r.text = out.text;
      text.focus();
      text.setSelectionRange(out.caret, out.caret);
      this.changed();
    });
    const add = h('button', { type: 'button', class: 'transcript-tool', 'data-testid': 'transcript-add', on: { click: () => this.add(i) } }, icon('plus'), tx(h('span', {}), 'transcript.addShort'));
    aria(add, 'transcript.add');
    const del = h('button', { type: 'button', class: 'transcript-tool danger', 'data-testid': 'transcript-delete', on: { click: () => this.remove(i) } }, icon('remove'));
    aria(del, 'transcript.delete');

    // the times, folded: most edits are words
    const from = h('input', { type: 'text', inputmode: 'decimal', class: 'transcript-from', value: fmtCode(r.start_ms, true), autocomplete: 'off', 'data-testid': 'transcript-from' });
    const to = h('input', { type: 'text', inputmode: 'decimal', class: 'transcript-to', value: fmtCode(r.end_ms, true), autocomplete: 'off', 'data-testid': 'transcript-to' });
    aria(from, 'transcript.from');
    aria(to, 'transcript.to');
    const timeMsg = h('p', { class: 'error', 'aria-live': 'polite' });
    const setTime = (input: HTMLInputElement, which: 'start_ms' | 'end_ms') => {
      const v = parseCode(input.value);
      if (v === null) {
        say(timeMsg, 'transcript.badTime');
        input.setAttribute('aria-invalid', 'true');
        return;
      }
      say(timeMsg, null);
      input.removeAttribute('aria-invalid');
      r[which] = v;
      time.querySelector('span')!.textContent = `${fmtCode(r.start_ms)}–${fmtCode(r.end_ms)}`;
      aria(time, 'transcript.play', { time: fmtCode(r.start_ms) });
      this.changed();
    };
    from.addEventListener('change', () => setTime(from, 'start_ms'));
    to.addEventListener('change', () => setTime(to, 'end_ms'));
    const times = h('details', { class: 'transcript-times' },
      h('summary', {}, tx(h('span', {}), 'transcript.times')),
      h('div', { class: 'transcript-times-grid' },
        h('label', {}, tx(h('span', {}), 'transcript.from'), from),
        h('label', {}, tx(h('span', {}), 'transcript.to'), to)),
      tx(h('p', { class: 'hint-text' }), 'transcript.timeHint'), timeMsg);

    const li = h('li', { class: `transcript-row${r.key !== null ? ' key' : ''}`, 'data-testid': 'transcript-segment', 'data-index': String(i) },
      h('div', { class: 'transcript-row-head' }, time, speaker),
      text,
      h('div', { class: 'transcript-tools' }, keyBtn, inaudible, add, del),
      labelField,
      times);
    aria(li, 'transcript.segment', { n });
    return li;
  }

  private renderLoose(): void {
    const e = this.edit;
    if (!e?.loose.length) {
      this.looseBox.replaceChildren();
      return;
    }
    const ul = h('ul', { class: 'plain-list' });
    e.loose.forEach((k, i) => {
      ul.append(h('li', { class: 'transcript-loose-item' },
        h('span', { translate: 'no' }, `${fmtCode(k.start_ms)}–${fmtCode(k.end_ms)}`), ' ', h('strong', {}, k.label), ' ',
        tx(h('button', { type: 'button', class: 'btn small secondary', on: { click: () => {
          e.loose.splice(i, 1);
          this.renderLoose();
          this.changed();
        } } }), 'transcript.looseRemove')));
    });
    this.looseBox.replaceChildren(tx(h('h3', {}), 'transcript.loose'), ul);
  }

  /** The speakers to pick from: me, the other party, and every name used here. */
  private fillSpeakers(): void {
    const names = new Set<string>([t('transcript.speakerMe'), t('transcript.speakerOther')]);
    for (const r of this.edit?.rows ?? []) if (r.speaker.trim()) names.add(r.speaker.trim());
    this.speakers.replaceChildren(...[...names].slice(0, 50).map((n) => h('option', { value: n })));
  }

  private add(i: number): void {
    const e = this.edit;
    if (!e) return;
    const m = this.deps.media();
    const duration = m && Number.isFinite(m.duration) ? Math.round(m.duration * 1000) : null;
    e.rows.splice(i + 1, 0, rowAfter(e.rows, i, duration));
    this.renderRows(i + 1);
    this.changed();
  }

  private remove(i: number): void {
    const e = this.edit;
    if (!e) return;
    e.rows.splice(i, 1);
    this.renderRows(Math.min(i, e.rows.length - 1) >= 0 ? Math.min(i, e.rows.length - 1) : undefined);
    this.changed();
  }

  // -- changes and saving -----------------------------------------------------------------

  private isDirty(): boolean {
    return !!this.edit && contentOf(this.edit) !== this.edit.baseline;
  }

  /** Something was edited: the save button and the banner follow (soon, not per key). */
  private changed(): void {
    if (this.msg.dataset.state !== 'error') say(this.msg, null);
    if (this.dirtyTimer) return;
    this.dirtyTimer = setTimeout(() => {
      this.dirtyTimer = null;
      this.renderBanner();
    }, 120);
    this.saveBtn.disabled = this.saving; // at once: a quick tap on Save after typing works
  }

  private async save(): Promise<void> {
    const e = this.edit;
    if (!e || this.saving) return;
    // a key point needs its label: say which part, on that part
    const missing = e.rows.findIndex((r) => r.key !== null && (!r.key.trim() || Array.from(r.key.trim()).length > LIMITS.label));
    if (missing >= 0) {
      say(this.msg, 'transcript.needLabel', { n: missing + 1 }, 'error');
      this.renderRows(missing);
      this.list.querySelectorAll<HTMLInputElement>('.transcript-keypoint-label')[missing]?.focus();
      return;
    }
    if (!this.isDirty()) {
      this.renderBanner();
      return;
    }
    const { segments, keyPoints } = partsFrom(e.rows, e.loose);
    const content = contentOf(e);
    this.saving = true;
    this.saveBtn.disabled = true;
    this.saveBtn.setAttribute('aria-busy', 'true');
    this.list.inert = true; // what is signed is what is on screen: no typing meanwhile
    say(this.msg, 'transcript.saving');
    try {
      const baseSha = e.base?.sha256 ?? null;
      let body = e.signed && e.signed.content === content && e.signed.base === baseSha ? e.signed.body : null;
      if (!body) {
        const keyId = await this.deps.keyId();
        const doc = buildNextVersion({ capture: this.deps.capture, latest: e.base, segments, keyPoints, language: e.language, keyId, now: new Date() });
        body = await signVersion(doc, keyId);
        e.signed = { content, base: baseSha, body };
      }
      const saved = await saveVersion(this.deps.capture.id, this.deps.token(), body);
      if (this.destroyed) return;
      this.edit = null;
      await this.load();
      say(this.msg, 'transcript.saved', { n: saved.version }, 'ok');
    } catch (err) {
      if (this.destroyed) return;
      if (err instanceof TranscriptDocError) {
        say(this.msg, `transcript.invalid.${err.reason}` as Key, { n: err.n ?? 0 }, 'error');
      } else if (err instanceof ApiError && err.code === 'transcript_conflict') {
        // someone (another device) saved first: keep these edits on top of theirs, and
        // ask the person to look at them again before saving
        await this.load();
        if (this.data?.latest && this.edit) {
          this.edit.base = this.data.latest;
          this.edit.baseline = '';
          this.edit.signed = undefined;
        }
        say(this.msg, 'transcript.conflict', undefined, 'error');
      } else {
        if (err instanceof ApiError && err.status === 401) this.deps.expired();
        sayText(this.msg, errorText(err), 'error');
      }
    } finally {
      this.saving = false;
      this.list.inert = false;
      this.saveBtn.removeAttribute('aria-busy');
      this.renderBanner();
    }
  }

  private async pdf(): Promise<void> {
    const id = this.deps.capture.id;
    this.pdfBtn.disabled = true;
    this.pdfBtn.setAttribute('aria-busy', 'true');
    try {
      await fetchAndHand(transcriptPdfPath(id), this.deps.token(), `fieldproof-transcript-${id}.pdf`, this.deps.title(), false);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.deps.expired();
      this.deps.toast(notAvailable(err) ? t('problem.not_available') : errorText(err));
    } finally {
      this.pdfBtn.disabled = !this.data?.latest;
      this.pdfBtn.removeAttribute('aria-busy');
    }
  }

  // -- playback -------------------------------------------------------------------------

  /** Play one part: from its start, pausing at its end. */
  private play(r: EditRow): void {
    const m = this.deps.media();
    if (!m) {
      this.deps.toast(t('transcript.noPlayer'));
      return;
    }
    this.watch(m);
    m.currentTime = r.start_ms / 1000;
    this.stopAt = r.end_ms > r.start_ms ? r.end_ms / 1000 : null;
    void m.play().catch(() => {
      /* not allowed (no gesture left) or not loaded: the person presses play */
    });
  }

  private readonly onTime = () => {
    const m = this.watched;
    if (m && this.stopAt !== null && m.currentTime >= this.stopAt) {
      this.stopAt = null;
      m.pause();
    }
  };

  private readonly onPause = () => {
    this.stopAt = null; // the person paused: no stop pending
  };

  private watch(m: HTMLMediaElement): void {
    if (this.watched === m) return;
    this.unwatch();
    this.watched = m;
    m.addEventListener('timeupdate', this.onTime);
    m.addEventListener('pause', this.onPause);
  }

  private unwatch(): void {
    this.watched?.removeEventListener('timeupdate', this.onTime);
    this.watched?.removeEventListener('pause', this.onPause);
    this.watched = null;
    this.stopAt = null;
  }
}
