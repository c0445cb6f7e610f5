// 通话 / Call and 会议 / Meeting: recording a phone call on speaker or importing
// the phone's own call recording, and recording an online meeting (the shared
// tab's sound and the microphone, kept apart). Before the first of them, the
// lawful-recording notice; its acknowledgement goes into every one's signed
// `context` (shared/PROTOCOL.md, "Calls and meetings").
import '../calls.css';
import { tx, type Key, type Param } from '../i18n';
import { queueFile } from '../app/captures';
import { geo } from '../app/geo';
import { mergeMeeting } from '../app/recording';
import { xhrUploader } from '../app/sender';
import { session } from '../app/session';
import { apiFetch, type ServerCapture } from '../shared/api';
import { getItem, kvGet, kvSet, NOTICE_KEY, type OutboxItem } from '../shared/db';
import {
  buildCallContext, buildMeetingContext, cleanNotice, localToUtc, NOTICE_VERSION, utc,
  type Direction, type Geo, type Notice, type RecordingContext, type TrackSource,
} from '../shared/protocol';
import { sendSingle, withLock } from '../shared/send';
import { clear, h, svg } from './dom';
import { RecordPanel, StartRefused, type CaptureActions, type Panel } from './panels';
import { problemParam } from './problems';

// -- icons (24×24, currentColor, like src/ui/icons.ts) ---------------------------------------

const SHAPES: Record<'call' | 'meeting', [string, Record<string, string | number>][]> = {
  // a telephone handset
  call: [['path', { d: 'M5 3.5h3.5l1.8 4.5-2.3 1.5a11 11 0 0 0 6.5 6.5l1.5-2.3 4.5 1.8V19a1.5 1.5 0 0 1-1.5 1.5A16.5 16.5 0 0 1 3.5 5 1.5 1.5 0 0 1 5 3.5z' }]],
  // two people in front of a screen
  meeting: [['rect', { x: 2.5, y: 3.5, width: 19, height: 11, rx: 1.5 }], ['circle', { cx: 8.5, cy: 8, r: 2 }], ['circle', { cx: 15.5, cy: 8, r: 2 }],
    ['path', { d: 'M5.5 12.5a3 3 0 0 1 6 0M12.5 12.5a3 3 0 0 1 6 0M8 20.5h8M12 14.5v6' }]],
};

export function modeIcon(name: 'call' | 'meeting'): SVGElement {
  return svg('svg', { viewBox: '0 0 24 24', class: `mode-icon icon-${name}`, fill: 'none', stroke: 'currentColor', 'stroke-width': 2,
    'stroke-linecap': 'round', 'stroke-linejoin': 'round', focusable: 'false', 'aria-hidden': 'true' },
  ...SHAPES[name].map(([tag, attrs]) => svg(tag, attrs)));
}

// -- the lawful-recording notice ------------------------------------------------------------


/** The acknowledgement kept on this device, if it is of the current notice. */
export async function storedNotice(): Promise<Notice | null> {
  try {
    const n = cleanNotice(await kvGet<Notice>(NOTICE_KEY));
    return n && n.version >= NOTICE_VERSION ? n : null;
  } catch {
    return null;
  }
}

async function acknowledge(): Promise<Notice> {
  const n: Notice = { version: NOTICE_VERSION, acknowledged_at: utc(new Date()) };
  await kvSet(NOTICE_KEY, n);
  return n;
}

/** The notice as a modal dialog: asked once before the first call or meeting recording, readable again. */
class NoticeDialog {
  readonly el: HTMLDialogElement;
  private okBtn: HTMLButtonElement;
  private cancelBtn: HTMLButtonElement;
  private acked: HTMLElement;
  private answer: ((ok: boolean) => void) | null = null;

  constructor() {
    this.okBtn = tx(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'notice-ok', on: { click: () => this.close(true) } }), 'notice.ok');
    this.cancelBtn = tx(h('button', { type: 'button', class: 'btn', 'data-testid': 'notice-cancel', on: { click: () => this.close(false) } }), 'notice.cancel');
    this.acked = h('p', { class: 'hint-text notice-acked', hidden: true });
    this.el = h('dialog', { class: 'notice-dialog', 'data-testid': 'notice', 'aria-labelledby': 'notice-title' },
      tx(h('h2', { id: 'notice-title' }), 'notice.title'),
      h('ul', { class: 'notice-points' },
        tx(h('li', {}), 'notice.law'), tx(h('li', {}), 'notice.own'), tx(h('li', {}), 'notice.dont'), tx(h('li', {}), 'notice.keep')),
      tx(h('p', { class: 'hint-text' }), 'notice.advice'),
      this.acked,
      h('div', { class: 'button-row notice-buttons' }, this.okBtn, this.cancelBtn));
    // Escape closes it: not now.
    this.el.addEventListener('cancel', (e) => {
      e.preventDefault();
      this.close(false);
    });
  }

  private open(): void {
    if (!this.el.isConnected) document.body.append(this.el);
    if (!this.el.open) this.el.showModal();
    this.okBtn.focus();
  }

  private close(ok: boolean): void {
    if (this.el.open) this.el.close();
    const a = this.answer;
    this.answer = null;
    a?.(ok);
  }

  /** The acknowledgement: the stored one, or the person's now (null: not now). */
  async ensure(): Promise<Notice | null> {
    const stored = await storedNotice();
    if (stored) return stored;
    this.acked.hidden = true;
    tx(this.okBtn, 'notice.ok');
    tx(this.cancelBtn, 'notice.cancel');
    this.okBtn.hidden = false;
    this.open();
    const ok = await new Promise<boolean>((r) => (this.answer = r));
    return ok ? acknowledge() : null;
  }

  /** Read it again (acknowledging it here counts too). */
  async show(): Promise<void> {
    const stored = await storedNotice();
    this.okBtn.hidden = !!stored;
    tx(this.cancelBtn, stored ? 'notice.close' : 'notice.cancel');
    this.acked.hidden = !stored;
    if (stored) tx(this.acked, 'notice.acked', { t: { time: stored.acknowledged_at, utc: false } });
    this.open();
    const ok = await new Promise<boolean>((r) => (this.answer = r));
    if (ok && !stored) await acknowledge();
  }
}

function noticeLink(dialog: NoticeDialog): HTMLButtonElement {
  return tx(h('button', { type: 'button', class: 'linklike notice-link', 'data-testid': 'notice-again', on: { click: () => void dialog.show() } }), 'notice.again');
}

// -- small form parts ---------------------------------------------------------------------------

let seq = 0;
const uid = (p: string) => `${p}-${++seq}`;

function field(label: Key, input: HTMLElement, hint?: HTMLElement): HTMLElement {
  if (!input.id) input.id = uid('calls-field');
  return h('div', { class: 'field' }, tx(h('label', { htmlFor: input.id }), label), input, hint ?? null);
}

/** A row of radio buttons drawn as one segmented control. */
function segmented<V extends string>(name: string, legend: Key, choices: [V, Key][], value: V, change: (v: V) => void, testid: string): { el: HTMLElement; value: () => V; set: (v: V) => void } {
  const row = h('div', { class: 'segmented' });
  const inputs = new Map<V, HTMLInputElement>();
  for (const [v, key] of choices) {
    const id = uid(name);
    const input = h('input', { type: 'radio', name, value: v, id, class: 'vh', checked: v === value, 'data-testid': `${testid}-${v}`, on: { change: () => change(v) } });
    inputs.set(v, input);
    row.append(input, tx(h('label', { htmlFor: id, class: 'segment' }), key));
  }
  const el = h('fieldset', { class: `field calls-choice ${name}s` }, tx(h('legend', {}), legend), row);
  return {
    el,
    value: () => [...inputs].find(([, i]) => i.checked)?.[0] ?? value,
    set: (v) => {
      const i = inputs.get(v);
      if (i) i.checked = true;
    },
  };
}

function directionSelect(): HTMLSelectElement {
  const s = h('select', { 'data-testid': 'calls-direction' });
  for (const [v, key] of [['', 'calls.direction.none'], ['incoming', 'calls.direction.incoming'], ['outgoing', 'calls.direction.outgoing']] as [string, Key][]) {
    s.append(tx(h('option', { value: v }), key));
  }
  return s;
}

function partyInput(): HTMLInputElement {
  return h('input', { type: 'tel', inputmode: 'tel', autocomplete: 'off', maxlength: 64, 'data-testid': 'calls-party' });
}

/** A difference in seconds in words: minutes, hours or days. */
export function diffParam(seconds: number): Param {
  const s = Math.abs(seconds);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  if (s >= 86_400) return { key: 'calls.diff.days', params: { n: round1(s / 86_400) } };
  if (s >= 3_600) return { key: 'calls.diff.hours', params: { n: round1(s / 3_600) } };
  return { key: 'calls.diff.minutes', params: { n: Math.max(1, Math.round(s / 60)) } };
}

// -- importing the phone's own call recording -----------------------------------------------------

type Brand = 'huawei' | 'xiaomi' | 'oppo' | 'vivo' | 'iphone' | 'other';
// Where each brand's dialer keeps its recordings (folder names are data, shown as they are).
const BRANDS: { id: Brand; label: Key | string; path?: string }[] = [
  { id: 'huawei', label: 'calls.brand.huawei', path: 'Sounds/CallRecord' },
  { id: 'xiaomi', label: 'calls.brand.xiaomi', path: 'MIUI/sound_recorder/call_rec' },
  { id: 'oppo', label: 'OPPO', path: 'Recordings' },
  { id: 'vivo', label: 'vivo', path: 'Record/Call' },
  { id: 'iphone', label: 'iPhone' },
  { id: 'other', label: 'calls.brand.other' },
];

/** Hash, sign (when a nonce is at hand) and keep an imported call recording, with its context. */
async function queueCallImport(file: File, context: RecordingContext, fix: Geo): Promise<OutboxItem> {
  return queueFile({ kind: 'import', blob: file, mime: file.type || 'application/octet-stream',
    name: file.name || 'call', start: new Date(), end: new Date(), geo: fix, context });
}

/**
 * Send it now, in this page, to show the server's answer (its call_time
 * check) here: under the sender's own lock, so it is sent once. Null when it
 * could not be sent now (the outbox sends it later).
 */
async function uploadNow(id: string): Promise<ServerCapture | null> {
  const token = session.token;
  if (!token) return null;
  let got: ServerCapture | null = null;
  const upload = xhrUploader(token);
  await withLock('fieldproof-drain', async () => {
    const item = await getItem(id); // read again under the lock: the outbox may have sent it meanwhile
    if (item) await sendSingle(item, async (it, media, progress) => (got = await upload(it, media, progress)));
  });
  if (got) return got;
  const now = await getItem(id);
  if (now?.state.captureId) return apiFetch<ServerCapture>(`/captures/${encodeURIComponent(now.state.captureId)}`, { token });
  return null;
}

// -- the call mode ------------------------------------------------------------------------------------

type Way = 'speaker' | 'import';

export class CallPanel implements Panel {
  readonly el: HTMLElement;
  private notice = new NoticeDialog();
  private ack: Notice | null = null;
  private record: RecordPanel;
  private way: ReturnType<typeof segmented<Way>>;
  private device: ReturnType<typeof segmented<'this' | 'other'>>;
  private deviceHint: HTMLElement;
  private speakerBox: HTMLElement;
  private importBox: HTMLElement;
  private party = partyInput();
  private direction = directionSelect();
  private brandRow: HTMLElement;
  private where: HTMLElement;
  private brand: Brand | null = null;
  private fileInput: HTMLInputElement;
  private fileLine: HTMLElement;
  private file: File | null = null;
  private time: HTMLInputElement;
  private timeField: HTMLElement;
  private details: HTMLElement;
  private submit: HTMLButtonElement;
  private result: HTMLElement;
  private recording = false;
  private importing = false;

  constructor(private actions: CaptureActions) {
    this.record = new RecordPanel('audio', actions, {
      before: async () => !!(this.ack = await this.notice.ensure()),
      context: () => this.ack ? buildCallContext(this.ack, {
        method: this.device.value() === 'this' ? 'speakerphone' : 'second_device',
        party: this.party.value,
        direction: this.direction.value as Direction | '',
      }) : null,
      onBusy: (busy) => this.lock(busy),
      // the next call is another one: its number is not this one's
      stopped: () => {
        this.party.value = '';
        this.direction.value = '';
      },
    });
    this.way = segmented<Way>('calls-way', 'calls.ways', [['speaker', 'calls.way.speaker'], ['import', 'calls.way.import']], 'speaker',
      () => this.showWay(), 'calls-way');
    this.deviceHint = tx(h('p', { class: 'hint-text', hidden: true }), 'calls.device.otherHint');
    this.device = segmented<'this' | 'other'>('calls-device', 'calls.device', [['this', 'calls.device.this'], ['other', 'calls.device.other']], 'this',
      (v) => (this.deviceHint.hidden = v !== 'other'), 'calls-device');
    this.speakerBox = h('section', { class: 'calls-speaker' },
      tx(h('p', { class: 'hint-text' }), 'calls.speaker.hint'),
      this.device.el, this.deviceHint);

    // import
    this.brandRow = h('div', { class: 'chips calls-brands' });
    this.where = h('p', { class: 'calls-where', 'data-testid': 'calls-where', hidden: true });
    for (const b of BRANDS) {
      const id = uid('calls-brand');
      const input = h('input', { type: 'radio', name: 'calls-brand', id, value: b.id, class: 'vh', 'data-testid': `calls-brand-${b.id}`, on: { change: () => this.pickBrand(b.id) } });
      const label = b.label.startsWith('calls.')
        ? tx(h('label', { htmlFor: id, class: 'chip' }), b.label as Key)
        : h('label', { htmlFor: id, class: 'chip', translate: 'no' }, b.label);
      this.brandRow.append(input, label);
    }
    this.fileInput = h('input', { type: 'file', accept: 'audio/*', id: uid('calls-file'), class: 'vh', 'data-testid': 'calls-file',
      on: { change: () => this.setFile(this.fileInput.files?.[0] ?? null) } });
    this.fileLine = tx(h('p', { class: 'hint-text calls-file-line', 'data-testid': 'calls-file-line' }), 'calls.fileNone');
    this.time = h('input', { type: 'datetime-local', step: 60, 'data-testid': 'calls-time' });
    this.submit = tx(h('button', { type: 'submit', class: 'btn primary wide', 'data-testid': 'calls-import-submit' }), 'calls.import.submit');
    this.timeField = field('calls.time', this.time, tx(h('p', { class: 'hint-text' }), 'calls.timeHint'));
    this.importBox = h('form', { class: 'form calls-import', hidden: true, on: { submit: (e) => { e.preventDefault(); void this.doImport(); } } },
      tx(h('p', { class: 'hint-text' }), 'calls.import.hint'),
      h('fieldset', { class: 'field' }, tx(h('legend', {}), 'calls.brand'), this.brandRow, this.where),
      h('div', { class: 'field' }, this.fileInput,
        tx(h('label', { htmlFor: this.fileInput.id, class: 'btn calls-file-btn' }), 'calls.file'), this.fileLine),
      this.timeField,
      tx(h('p', { class: 'note import-note' }), 'calls.import.note'),
      this.submit);
    this.result = h('section', { class: 'card calls-result', 'data-testid': 'calls-result', 'aria-live': 'polite', hidden: true });
    // the other party and who called: asked in both ways, placed in the one shown
    this.details = h('div', { class: 'form calls-details' },
      h('div', { class: 'calls-pair' }, field('calls.party', this.party), field('calls.direction', this.direction)));
    this.el = h('div', { class: 'panel calls call', 'data-testid': 'calls-panel' },
      h('p', { class: 'note calls-limits' }, tx(h('span', {}), 'calls.limits'), ' ', noticeLink(this.notice)),
      this.way.el, this.result, this.speakerBox, this.importBox, this.record.el,
      this.notice.el);
    this.showWay();
  }

  get busy(): boolean {
    return this.recording || this.importing || this.record.busy;
  }

  async activate(): Promise<void> {
    await this.record.activate();
  }

  deactivate(): void {
    this.record.deactivate();
  }

  /** A file shared into the app that the person says is a call recording: the import form, filled in. */
  offerFile(file: File): void {
    this.way.set('import');
    this.showWay();
    this.setFile(file);
  }

  private lock(busy: boolean): void {
    this.recording = busy;
    for (const el of this.el.querySelectorAll<HTMLInputElement | HTMLSelectElement>('.calls-choice input, .calls-details input, .calls-details select')) {
      el.disabled = busy;
    }
  }

  private showWay(): void {
    const w = this.way.value();
    this.speakerBox.hidden = w !== 'speaker';
    this.record.el.hidden = w !== 'speaker';
    this.importBox.hidden = w !== 'import';
    if (w === 'speaker') this.speakerBox.append(this.details);
    else this.importBox.insertBefore(this.details, this.timeField);
    this.result.hidden = true; // what the last import said belongs to it
  }

  private pickBrand(b: Brand): void {
    this.brand = b;
    const info = BRANDS.find((x) => x.id === b)!;
    this.where.hidden = false;
    if (info.path) tx(this.where, 'calls.where.path', { path: { raw: info.path } });
    else if (b === 'iphone') tx(this.where, 'calls.where.iphone', { ios: { raw: 'iOS 18' } });
    else tx(this.where, 'calls.where.other', { a: { raw: 'Call' }, b: { raw: 'Record' } });
  }

  private setFile(f: File | null): void {
    this.file = f;
    if (f) tx(this.fileLine, 'calls.fileChosen', { name: { raw: f.name } });
    else tx(this.fileLine, 'calls.fileNone');
    this.fileLine.classList.remove('error');
  }

  private async doImport(): Promise<void> {
    if (this.importing) return;
    const file = this.file;
    if (!file) {
      tx(this.fileLine, 'calls.needFile');
      this.fileLine.classList.add('error');
      return;
    }
    this.importing = true; // before the first await: a second tap finds it taken
    this.submit.disabled = true;
    const notice = await this.notice.ensure();
    if (!notice) {
      this.importing = false;
      this.submit.disabled = false;
      return;
    }
    this.showResult('calls.result.uploading');
    try {
      const context = buildCallContext(notice, {
        method: 'dialer_import',
        party: this.party.value,
        direction: this.direction.value as Direction | '',
        startedAt: this.time.value ? localToUtc(this.time.value) : null,
        brand: this.brand,
      });
      const fix = await geo.fixOrAbsent(2500);
      const item = await queueCallImport(file, context, fix);
      let capture: ServerCapture | null = null;
      try {
        capture = await uploadNow(item.id);
      } catch {
        capture = null; // the outbox retries
      }
      if (capture) {
        this.showCapture(capture);
        this.reset();
        return;
      }
      const now = await getItem(item.id);
      if (now?.state.status === 'rejected' && now.state.rejection) {
        this.showResult('calls.result.refused', { reason: problemParam(now.state.rejection) });
        return;
      }
      this.result.hidden = true;
      this.reset();
      this.actions.queued(item); // kept on the phone: the outbox sends it
    } catch (err) {
      this.result.hidden = true;
      this.actions.failed(err);
    } finally {
      this.importing = false;
      this.submit.disabled = false;
    }
  }

  private reset(): void {
    this.setFile(null);
    this.fileInput.value = '';
    this.time.value = '';
    this.party.value = '';
    this.direction.value = '';
  }

  private showResult(key: Key, params?: Record<string, Param>): void {
    clear(this.result);
    this.result.hidden = false;
    this.result.append(tx(h('p', {}), key, params));
  }

  /** What the server said: stored, and its call-time check in plain words. */
  private showCapture(c: ServerCapture): void {
    clear(this.result);
    this.result.hidden = false;
    this.result.append(tx(h('p', { class: 'ok-text' }), 'calls.result.saved'));
    const check = c.checks?.find((x) => x.name === 'call_time');
    if (check) {
      const p = check.params ?? {};
      const time = (v: unknown): Param => (typeof v === 'string' ? { time: v, utc: false } : '');
      const line = h('p', { class: `calls-check ${check.ok ? 'ok' : 'flag'}`, 'data-testid': 'calls-time-check',
        'data-ok': String(check.ok), 'data-code': check.code ?? '' });
      const head = h('strong', { class: check.ok ? 'ok-text' : 'flag-text' });
      const text = h('span', {});
      if (check.code === 'call_time.mismatch') {
        tx(head, 'calls.time.mismatchHead');
        tx(text, 'calls.time.mismatch', { file_at: time(p.file_at), claimed_at: time(p.claimed_at), diff: diffParam(Number(p.diff_s) || 0) });
      } else if (check.code === 'call_time.match') {
        tx(head, 'calls.time.matchHead');
        tx(text, 'calls.time.match', { file_at: time(p.file_at) });
      } else {
        tx(head, 'calls.time.noneHead');
        tx(text, 'calls.time.none');
      }
      line.append(head, ' ', text);
      this.result.append(line);
    }
    this.result.append(tx(h('button', { type: 'button', class: 'btn', 'data-testid': 'calls-open',
      on: { click: () => (location.hash = `#/list/${encodeURIComponent(`s:${c.id}`)}`) } }), 'calls.open'));
    this.result.scrollIntoView({ block: 'nearest' });
  }
}

// -- the meeting mode ---------------------------------------------------------------------------------

/** Where the browser can share a tab or screen (desktop): not on phones. */
export function displaySupported(): boolean {
  return typeof navigator !== 'undefined' && !!navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === 'function';
}

export class MeetingPanel implements Panel {
  readonly el: HTMLElement;
  private notice = new NoticeDialog();
  private ack: Notice | null = null;
  private record: RecordPanel;
  private video: HTMLInputElement;
  private sources: TrackSource[] = ['microphone'];
  private withVideo = false;

  constructor(actions: CaptureActions) {
    const desktop = displaySupported();
    this.video = h('input', { type: 'checkbox', id: uid('meeting-video'), 'data-testid': 'meeting-video' });
    this.record = new RecordPanel('audio', actions, {
      before: async () => !!(this.ack = await this.notice.ensure()),
      media: desktop ? (ended) => this.desktopMedia(ended) : undefined,
      context: () => this.ack ? buildMeetingContext(this.ack, this.sources, this.withVideo) : null,
      onBusy: (busy) => (this.video.disabled = busy),
    });
    this.el = h('div', { class: 'panel calls meeting', 'data-testid': 'meeting-panel', 'data-display': String(desktop) },
      h('p', { class: 'note' }, tx(h('span', {}), desktop ? 'meeting.intro' : 'meeting.phone'), ' ', noticeLink(this.notice)),
      desktop ? tx(h('p', { class: 'hint-text meeting-channels' }), 'meeting.channels') : null,
      desktop ? h('div', { class: 'check-line' }, this.video, tx(h('label', { htmlFor: this.video.id }), 'meeting.video')) : null,
      this.record.el, this.notice.el);
  }

  get busy(): boolean {
    return this.record.busy;
  }

  async activate(): Promise<void> {
    await this.record.activate();
  }

  deactivate(): void {
    this.record.deactivate();
  }

  /**
   * The shared tab's sound on the left channel and the microphone on the
   * right, in one stereo track (see mergeMeeting in src/app/recording.ts for
   * why not two tracks); with the picture when asked (recorded as 'screen').
   */
  private async desktopMedia(ended: () => void): Promise<{ stream: MediaStream; kind: 'audio' | 'screen'; release: () => void }> {
    const video = this.video.checked;
    const display = await navigator.mediaDevices.getDisplayMedia({
      video: true,
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, suppressLocalAudioPlayback: false },
      // Chromium's hints: offer tabs with their sound, not this app's own tab
      selfBrowserSurface: 'exclude',
      systemAudio: 'include',
      surfaceSwitching: 'include',
    } as DisplayMediaStreamOptions);
    if (!display.getAudioTracks().length) {
      display.getTracks().forEach((t) => t.stop());
      throw new StartRefused('meeting.noSound');
    }
    let mic: MediaStream;
    try {
      mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false }, video: false });
    } catch (err) {
      display.getTracks().forEach((t) => t.stop());
      throw err;
    }
    let merged: ReturnType<typeof mergeMeeting>;
    try {
      merged = mergeMeeting(display, mic, video);
    } catch (err) { // no Web Audio here: give the screen and the microphone back
      display.getTracks().forEach((t) => t.stop());
      mic.getTracks().forEach((t) => t.stop());
      throw err;
    }
    // "Stop sharing" in the browser ends the display tracks (video and sound): the
    // recording ends with them, once.
    let once = false;
    const endOnce = (): void => {
      if (!once) {
        once = true;
        ended();
      }
    };
    for (const t of display.getTracks()) t.addEventListener('ended', endOnce);
    this.sources = ['display', 'microphone'];
    this.withVideo = video;
    return { stream: merged.stream, kind: video ? 'screen' : 'audio', release: merged.release };
  }
}
