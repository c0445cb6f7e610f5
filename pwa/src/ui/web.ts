// 网页取证 / Web: the server records a URL in a clean browser. The phone only asks,
// watches a live picture, previews the result and confirms or abandons it.
// A link shared into the installed app (Web Share Target) lands here, filled in.
import { apiBlob, apiFetch, ApiError } from '../shared/api';
import { t, timeEl, tx, type Key } from '../i18n';
import { clear, h } from './dom';
import type { Panel } from './panels';

export type WebMode = 'page' | 'video' | 'live';
export type WebStatus = 'scheduled' | 'recording' | 'awaiting_confirmation' | 'confirmed' | 'abandoned' | 'failed';

export interface WebTask {
  id: string;
  url: string;
  mode: WebMode;
  title: string;
  duration_s: number;
  start_at: string | null;
  end_at: string | null;
  status: WebStatus;
  reason: { code: string; detail: string } | null;
  created_at: string;
  recorded_at: string | null;
  confirm_by: string | null;
  decided_by: 'user' | 'auto' | null;
  capture_id: string | null;
  files?: { name: string; sha256: string; size: number; mime: string }[];
}

export interface WebCtx {
  token(): string | null;
  openCapture(id: string): void;
  failed(err: unknown): void;
}

const OPEN: WebStatus[] = ['scheduled', 'recording'];
const POLL_MS = 2000;
const REASONS = ['address_refused', 'unreachable', 'no_response', 'size_limit', 'timeout', 'crashed',
  'recorder_lost', 'recorder_unavailable', 'store_failed', 'browser'];

/** The first http(s) URL in what another app shared (Douyin shares "text + link"). */
export function sharedUrl(params: URLSearchParams): string | null {
  for (const name of ['share_url', 'share_text', 'share_title']) {
    const m = /https?:\/\/[^\s<>"'，。；、）)]+/i.exec(params.get(name) ?? '');
    if (m) return m[0];
  }
  return null;
}

let pending: string | null = null;
/** A URL shared into the app, for the panel to take when it opens. */
export function offerSharedUrl(url: string): void {
  pending = url;
}

function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export class WebPanel implements Panel {
  readonly el: HTMLElement;
  readonly busy = false;
  private url: HTMLInputElement;
  private duration: HTMLInputElement;
  private start: HTMLInputElement;
  private end: HTMLInputElement;
  private title: HTMLInputElement;
  private modeInputs = new Map<WebMode, HTMLInputElement>();
  private liveTimes!: HTMLElement;
  private modeHint: HTMLElement;
  private durationField!: HTMLElement;
  private submit: HTMLButtonElement;
  private taskBox: HTMLElement;
  private listBox: HTMLElement;
  private current: WebTask | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private frameUrl: string | null = null;
  private active = false;
  private media: string[] = [];

  constructor(private ctx: WebCtx) {
    const field = (id: string, key: Key, input: HTMLElement) =>
      h('div', { class: 'field' }, tx(h('label', { htmlFor: id }), key), input);
    this.url = h('input', { id: 'web-url', type: 'url', inputmode: 'url', required: true, autocomplete: 'off', placeholder: 'https://…', 'data-testid': 'web-url', maxlength: 2048 });
    this.duration = h('input', { id: 'web-duration', type: 'number', min: 5, max: 14400, value: '30', inputmode: 'numeric', 'data-testid': 'web-duration' });
    const soon = new Date(Date.now() + 10 * 60_000);
    this.start = h('input', { id: 'web-start', type: 'datetime-local', value: localInput(soon), 'data-testid': 'web-start' });
    this.end = h('input', { id: 'web-end', type: 'datetime-local', value: localInput(new Date(soon.getTime() + 30 * 60_000)), 'data-testid': 'web-end' });
    this.title = h('input', { id: 'web-title', type: 'text', maxlength: 200, 'data-testid': 'web-title' });
    // a segmented control: three short choices in a row, the chosen one explained below
    const row = h('div', { class: 'segmented' });
    this.modeHint = h('p', { class: 'hint-text web-mode-hint' });
    const modes = h('fieldset', { class: 'field web-modes' }, tx(h('legend', {}), 'web.mode'), row, this.modeHint);
    for (const m of ['page', 'video', 'live'] as WebMode[]) {
      const input = h('input', { type: 'radio', name: 'web-mode', value: m, checked: m === 'page', id: `web-mode-${m}`, class: 'vh', 'data-testid': `web-mode-${m}`, on: { change: () => this.modeChanged() } });
      this.modeInputs.set(m, input);
      row.append(input, tx(h('label', { htmlFor: `web-mode-${m}`, class: 'segment' }), `web.modeShort.${m}` as Key));
    }
    this.modeChanged();
    this.durationField = field('web-duration', 'web.duration', this.duration);
    this.liveTimes = h('div', { class: 'web-live-times', hidden: true },
      tx(h('p', { class: 'hint-text' }), 'web.liveHint'),
      field('web-start', 'web.startAt', this.start), field('web-end', 'web.endAt', this.end));
    this.submit = tx(h('button', { type: 'submit', class: 'btn primary wide', 'data-testid': 'web-start-button' }), 'web.start');
    const form = h('form', { class: 'form web-form', on: { submit: (e) => { e.preventDefault(); void this.create(); } } },
      field('web-url', 'web.url', this.url), modes, this.durationField, this.liveTimes,
      field('web-title', 'web.title', this.title), this.submit);
    this.taskBox = h('section', { class: 'web-task card', 'aria-live': 'polite', 'data-testid': 'web-task', hidden: true });
    this.listBox = h('ul', { class: 'plain-list web-tasks', 'data-testid': 'web-tasks' });
    this.el = h('div', { class: 'panel web' },
      tx(h('h2', {}), 'web.heading'),
      tx(h('p', { class: 'note' }), 'web.intro'),
      form, this.taskBox,
      tx(h('h3', {}), 'web.recent'), this.listBox);
  }

  async activate(): Promise<void> {
    this.active = true;
    if (pending) {
      this.url.value = pending;
      pending = null;
      this.url.focus();
    }
    await this.refreshList();
    if (this.current) this.poll();
  }

  deactivate(): void {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  relabel(): void {
    if (this.current) this.render(this.current);
    void this.refreshList();
  }

  private mode(): WebMode {
    for (const [m, input] of this.modeInputs) if (input.checked) return m;
    return 'page';
  }

  private modeChanged(): void {
    tx(this.modeHint, `web.mode.${this.mode()}` as Key);
    const live = this.mode() === 'live';
    if (!this.liveTimes) return; // called once while building
    this.liveTimes.hidden = !live;
    this.durationField.hidden = live;
  }

  private async create(): Promise<void> {
    const mode = this.mode();
    const body: Record<string, unknown> = {
      url: this.url.value.trim(), mode, title: this.title.value.trim(),
      // times on the result are shown in the owner's zone, as for a phone's captures
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    };
    if (mode === 'live') {
      body.start_at = new Date(this.start.value).toISOString();
      body.end_at = new Date(this.end.value).toISOString();
    } else {
      body.duration_s = Number(this.duration.value);
    }
    this.submit.disabled = true;
    try {
      const task = await apiFetch<WebTask>('/web-captures', { token: this.ctx.token(), json: body });
      this.show(task);
      void this.refreshList();
    } catch (err) {
      this.ctx.failed(err);
    } finally {
      this.submit.disabled = false;
    }
  }

  private show(task: WebTask): void {
    this.current = task;
    this.render(task);
    this.poll();
  }

  private poll(): void {
    if (this.timer) clearTimeout(this.timer);
    const task = this.current;
    if (!task || !this.active || !OPEN.includes(task.status)) return;
    this.timer = setTimeout(async () => {
      try {
        const next = await apiFetch<WebTask>(`/web-captures/${task.id}`, { token: this.ctx.token() });
        if (next.status === 'recording') await this.frame(next.id);
        const changed = next.status !== this.current?.status;
        this.current = next;
        if (changed) {
          this.render(next);
          void this.refreshList();
        }
      } catch {
        /* offline for a moment: try again */
      }
      this.poll();
    }, POLL_MS);
  }

  /** The newest picture of the recording browser (the live thumbnail). */
  private async frame(id: string): Promise<void> {
    const img = this.taskBox.querySelector<HTMLImageElement>('img.web-frame');
    if (!img) return;
    try {
      const { blob } = await apiBlob(`/web-captures/${id}/frame`, { token: this.ctx.token() });
      if (this.frameUrl) URL.revokeObjectURL(this.frameUrl);
      this.frameUrl = URL.createObjectURL(blob);
      img.src = this.frameUrl;
      img.hidden = false;
    } catch {
      /* no frame yet */
    }
  }

  private render(task: WebTask): void {
    const box = this.taskBox;
    clear(box);
    this.media.forEach((u) => URL.revokeObjectURL(u));
    this.media = [];
    box.hidden = false;
    box.append(
      h('p', { class: 'web-status' }, h('span', { class: `badge web-${task.status}`, 'data-testid': 'web-status', 'data-status': task.status }, t(`web.status.${task.status}` as Key))),
      h('p', { class: 'web-url-line' }, task.title ? h('strong', { translate: 'no' }, task.title) : h('strong', {}, t(`web.mode.${task.mode}` as Key)),
        ' · ', h('span', { class: 'mono', translate: 'no' }, task.url)));
    if (task.status === 'scheduled' && task.start_at) {
      box.append(h('p', {}, t('web.startsAt'), ' ', timeEl(task.start_at)));
    } else if (task.status === 'scheduled') {
      box.append(tx(h('p', { class: 'hint-text' }), 'web.queued'));
    }
    if (task.status === 'recording') {
      box.append(tx(h('p', {}), 'web.recordingNow', { n: task.duration_s }),
        h('img', { class: 'web-frame', alt: t('web.frameAlt'), hidden: true, 'data-testid': 'web-frame' }));
      void this.frame(task.id);
    }
    if (task.status === 'failed') {
      const code = task.reason?.code ?? '';
      box.append(h('p', { class: 'flag-text', 'data-testid': 'web-reason' },
        REASONS.includes(code) ? t(`web.reason.${code}` as Key) : t('web.reason.browser')));
    }
    if (task.capture_id && ['awaiting_confirmation', 'confirmed', 'abandoned'].includes(task.status)) {
      void this.preview(task, box);
    }
  }

  private async preview(task: WebTask, box: HTMLElement): Promise<void> {
    const token = this.ctx.token();
    const id = task.capture_id as string;
    const video = h('video', { controls: true, playsinline: true, preload: 'metadata', class: 'web-video', 'data-testid': 'web-video' });
    const shots = h('div', { class: 'web-shots' });
    const hosts = h('ul', { class: 'plain-list web-hosts', 'data-testid': 'web-hosts' });
    const actions = h('div', { class: 'button-row' });
    if (task.status === 'awaiting_confirmation') {
      actions.append(
        tx(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'web-confirm', on: { click: () => void this.decide(task, 'confirm') } }), 'web.confirm'),
        tx(h('button', { type: 'button', class: 'btn danger', 'data-testid': 'web-abandon', on: { click: () => void this.decide(task, 'abandon') } }), 'web.abandon'));
      if (task.confirm_by) actions.append(h('p', { class: 'hint-text' }, t('web.autoConfirm'), ' ', timeEl(task.confirm_by)));
    } else if (task.status === 'confirmed') {
      actions.append(tx(h('p', { class: 'ok-text' }), task.decided_by === 'auto' ? 'web.confirmedAuto' : 'web.confirmedByYou'));
    }
    actions.append(tx(h('button', { type: 'button', class: 'btn', 'data-testid': 'web-open', on: { click: () => this.ctx.openCapture(id) } }), 'web.open'));
    box.append(video, tx(h('h3', {}), 'web.screenshots'), shots, tx(h('h3', {}), 'web.hosts'), hosts, actions);
    try {
      // the recording starts on an empty window: show the loaded page until it plays
      const { blob } = await apiBlob(`/captures/${encodeURIComponent(id)}/derived/thumbnail`, { token });
      const u = URL.createObjectURL(blob);
      this.media.push(u);
      video.poster = u;
    } catch {
      /* no picture: the player's own */
    }
    try {
      const { blob } = await apiBlob(`/captures/${encodeURIComponent(id)}/original`, { token });
      const u = URL.createObjectURL(blob);
      this.media.push(u);
      video.src = u;
    } catch {
      /* the rest still shows */
    }
    for (const name of ['screenshot-start.png', 'screenshot-end.png']) {
      if (!task.files?.some((f) => f.name === name)) continue;
      try {
        const { blob } = await apiBlob(`/web-captures/${task.id}/files/${name}`, { token });
        const u = URL.createObjectURL(blob);
        this.media.push(u);
        shots.append(h('figure', {}, h('img', { src: u, alt: t(name === 'screenshot-start.png' ? 'web.shotStart' : 'web.shotEnd'), 'data-testid': 'web-shot' }),
          tx(h('figcaption', {}), name === 'screenshot-start.png' ? 'web.shotStart' : 'web.shotEnd')));
      } catch {
        /* skip */
      }
    }
    try {
      const env = await apiFetch<Environment>(`/web-captures/${task.id}/files/environment.json`, { token });
      renderHosts(hosts, env);
    } catch {
      /* skip */
    }
  }

  private async decide(task: WebTask, what: 'confirm' | 'abandon'): Promise<void> {
    if (what === 'abandon' && !confirm(t('web.abandonAsk'))) return;
    try {
      const next = await apiFetch<WebTask>(`/web-captures/${task.id}/${what}`, { method: 'POST', token: this.ctx.token() });
      next.files = task.files;
      this.show(next);
      void this.refreshList();
    } catch (err) {
      this.ctx.failed(err);
    }
  }

  private async refreshList(): Promise<void> {
    let items: WebTask[] = [];
    try {
      items = (await apiFetch<{ items: WebTask[] }>('/web-captures', { token: this.ctx.token() })).items;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.ctx.failed(err);
      return;
    }
    clear(this.listBox);
    if (!items.length) this.listBox.append(tx(h('li', { class: 'hint-text' }), 'web.none'));
    for (const task of items.slice(0, 10)) {
      this.listBox.append(h('li', {},
        h('button', { type: 'button', class: 'linklike', translate: 'no', on: { click: async () => this.show(await apiFetch<WebTask>(`/web-captures/${task.id}`, { token: this.ctx.token() })) } },
          task.title || task.url),
        h('span', { class: `badge web-${task.status}` }, t(`web.status.${task.status}` as Key)),
        h('span', { class: 'hint-text' }, ' ', timeEl(task.created_at))));
    }
  }
}

interface Environment {
  network?: { dns?: Record<string, string[]>; connected?: Record<string, string> };
  tls?: Record<string, { subject?: string; issuer?: string; chain_sha256?: string[]; protocol?: string }>;
  main_document?: { status?: number; url?: string };
  warc?: unknown;
}

/** The hosts the page contacted and each HTTPS host's certificate, as the server's browser saw them. */
function renderHosts(list: HTMLElement, env: Environment): void {
  const connected = Object.keys(env.network?.connected ?? {});
  if (env.main_document?.status) list.append(h('li', {}, t('web.mainStatus', { status: env.main_document.status })));
  for (const hostPort of connected) {
    list.append(h('li', { class: 'mono', translate: 'no' }, hostPort, ' → ', env.network?.connected?.[hostPort] ?? ''));
  }
  for (const [origin, tls] of Object.entries(env.tls ?? {})) {
    const fp = tls.chain_sha256?.[0] ?? '';
    list.append(h('li', { 'data-testid': 'web-cert' }, h('strong', { translate: 'no' }, origin), h('br'),
      t('web.certSubject'), ' ', h('span', { translate: 'no' }, tls.subject ?? ''), h('br'),
      t('web.certIssuer'), ' ', h('span', { translate: 'no' }, `${tls.issuer ?? ''} · ${tls.protocol ?? ''}`), h('br'),
      h('span', { class: 'mono', translate: 'no' }, `SHA-256 ${fp.slice(0, 32)}…`)));
  }
  if (!list.childElementCount) list.append(tx(h('li', { class: 'hint-text' }), 'web.noHosts'));
}

