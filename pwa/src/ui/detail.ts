// One capture, for a person first and an expert second: the picture or the
// recording, one plain sentence saying what it is and whether it is intact,
// the owner's title, note and tags (not signed evidence), the place, and what
// can be done with it (export, certificate, share, add to a case). The checks,
// hashes, log receipt and chain of custody follow, collapsed.
import { fetchAndHand, shareOrDownload } from '../app/files';
import { mapTile } from '../app/config';
import { session } from '../app/session';
import { fmtBytes, fmtNumber, fmtTime, hasKey, lang, t, tx, type Key, type Params } from '../i18n';
import { placeName } from '../i18n/place';
import { checkName, checkNodes, custodyText, verdictSentence } from '../i18n/server';
import { ApiError, apiBlob, apiFetch, type CaseSummary, type CustodyEvent, type Receipt, type ServerCapture } from '../shared/api';
import { getMedia, openDb } from '../shared/db';
import { isFix, type Geo } from '../shared/protocol';
import type { AppCtx } from './ctx';
import { colon, h, type View } from './dom';
import { icon } from './icons';
import { ShareLinks } from './links';
import { rowTitle, type Row } from './list';
import { errorText, notAvailable, problemParam } from './problems';
import { TranscriptPanel } from './transcript';

export interface DetailData {
  row: Row | null;
  server: ServerCapture | null;
  receipt: Receipt | null;
  checkpointAt: string | null;
  custody?: CustodyEvent[] | null;
  offline: boolean;
}

/** What a call or meeting recording's signed `context` says (PROTOCOL "Calls and meetings"). */
function contextCard(context: unknown, tz: string | undefined): HTMLElement | null {
  if (!context || typeof context !== 'object') return null;
  const c = context as { type?: string; notice?: { acknowledged_at?: string };
    call?: { method?: string; party?: string; direction?: string; started_at?: string };
    meeting?: { tracks?: unknown[] } };
  if (c.type !== 'call' && c.type !== 'meeting') return null;
  const method = c.call?.method && hasKey(`context.method.${c.call.method}`) ? t(`context.method.${c.call.method}` as Key) : null;
  const direction = c.call?.direction && hasKey(`calls.direction.${c.call.direction}`) ? t(`calls.direction.${c.call.direction}` as Key) : null;
  const tracks = c.type === 'meeting' ? t((c.meeting?.tracks?.length ?? 0) > 1 ? 'context.tracks.two' : 'context.tracks.one') : null;
  return h('section', { class: 'card context', 'data-testid': 'context', 'aria-labelledby': 'context-title' },
    h('h2', { id: 'context-title' }, t(c.type === 'call' ? 'context.call' : 'context.meeting')),
    dl(['context.method', method],
      ['context.party', c.call?.party ? h('span', { translate: 'no' }, c.call.party) : null],
      ['context.direction', direction],
      ['context.callTime', c.call?.started_at ? fmtTime(c.call.started_at, { tz }) : null],
      ['context.tracks', tracks],
      ['context.notice', c.notice?.acknowledged_at ? t('context.noticeValue', { t: { time: c.notice.acknowledged_at } }) : null]),
    tx(h('p', { class: 'note' }), 'context.signed'));
}

/** Recordings that may have sound to transcribe, as the server decides: these kinds, or sound or video by type. */
const TRANSCRIBABLE = new Set(['audio', 'video', 'screen', 'web']);

function transcribable(kind: string, server: ServerCapture): boolean {
  const mime = (server.media.sniffed_mime || server.media.mime || '').split(';')[0];
  return TRANSCRIBABLE.has(kind) || mime.startsWith('audio/') || mime.startsWith('video/');
}

/** The device key to sign with, enrolled with this account first if it is not yet. */
async function signingKeyId(): Promise<string> {
  const key = await session.ensureKey();
  if (!key.enrolledAt) await session.enroll();
  return (session.key ?? key).keyId;
}

/** Originals larger than this wait for a tap before they are fetched (mobile data). */
const AUTO_LOAD = 25 * 1000 * 1000;
const ORIGINALS = new Map<string, string>(); // capture id -> object URL (the last few)

function remember(id: string, url: string): void {
  ORIGINALS.set(id, url);
  while (ORIGINALS.size > 3) {
    const [old, u] = ORIGINALS.entries().next().value as [string, string];
    ORIGINALS.delete(old);
    URL.revokeObjectURL(u);
  }
}

/** The chain of custody, oldest first: who read the capture, when, from where. */
function custodyList(events: CustodyEvent[]): HTMLElement {
  const ol = h('ol', { class: 'custody', 'data-testid': 'custody' });
  for (const e of events) {
    const who: Node | string = e.actor.system ? t('custody.system')
      : e.actor.share ? t('custody.share', { label: { raw: e.actor.label ?? '' } })
        : h('span', { translate: 'no' }, e.actor.email ?? '');
    const variant = String(e.detail.variant ?? '');
    const what = e.event === 'download' && Array.isArray(e.detail.range)
      ? t('custody.range', { from: String(e.detail.range[0]), to: String(e.detail.range[1]) })
      : variant ? (hasKey(`custody.variant.${variant}`) ? t(`custody.variant.${variant}` as Key) : variant) : '';
    ol.append(h('li', { 'data-event': e.event },
      h('strong', {}, custodyText(e.event)), what ? ` · ${what}` : '', h('br'),
      h('span', { class: 'custody-when' }, fmtTime(e.at)), ' · ', who,
      e.origin.ip ? ' · ' : '', e.origin.ip ? h('span', { translate: 'no' }, e.origin.ip) : '', h('br'),
      h('span', { class: 'custody-leaf' }, e.leaf_index === null
        ? t('custody.pending') : t('custody.leaf', { index: String(e.leaf_index) }))));
  }
  return ol;
}

function dl(...pairs: [Key, Node | string | null | undefined][]): HTMLElement {
  const list = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === '') continue;
    list.append(h('dt', {}, t(k)), h('dd', {}, v));
  }
  return list;
}

function mono(text: string | null | undefined): HTMLElement | null {
  return text ? h('code', { class: 'hash', translate: 'no' }, text) : null;
}

/** The data-testid of every open <details> under `root`. */
function openSections(root: HTMLElement): Set<string> {
  return new Set([...root.querySelectorAll<HTMLDetailsElement>('details[data-testid]')]
    .filter((el) => el.open).map((el) => el.dataset.testid!));
}

function section(key: Key, testid: string, summaryExtra: string | null, ...body: (Node | null)[]): HTMLElement {
  return h('details', { class: 'expert', 'data-testid': testid },
    h('summary', {}, h('span', { class: 'summary-title' }, t(key)), summaryExtra ? h('span', { class: 'summary-extra' }, summaryExtra) : null),
    ...body);
}

/** GET /captures/{id}/continuity: is the recording complete (shared/PROTOCOL.md "Completeness"). */
interface Gap {
  after_seq: number;
  from: string;
  to: string;
  ms: number;
  cause: string; // paused | network
}
interface Continuity {
  streamed: boolean;
  device_start: string;
  device_end: string;
  wall_ms: number;
  recorded_ms: number | null;
  chunks: number;
  interval_ms: number;
  gaps: Gap[];
  paused_ms: number;
  clock_backwards: number;
  ended: string; // stopped | interrupted
  continues: string | null; // a capture id, or "stream:<id>" before that stream has one
  continued_by: string[];
  continuous: boolean | null;
}

/** A time of day as a person reads it, on the recording phone's clock: 14:02:10. */
function clock(iso: string, tz?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const opts: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
  try {
    return new Intl.DateTimeFormat(lang(), { ...opts, ...(tz ? { timeZone: tz } : {}) }).format(d);
  } catch {
    return new Intl.DateTimeFormat(lang(), opts).format(d);
  }
}

/** A length of time in words: "3.5 seconds", "35 seconds", "2 min 5 s", "1 h 2 min". */
function duration(ms: number): string {
  if (ms < 10_000) return t('continuity.seconds', { n: Math.round(ms / 100) / 10 });
  const s = Math.round(ms / 1000);
  if (s < 60) return t('continuity.seconds', { n: s });
  if (s < 3600) return s % 60 ? t('continuity.minutes', { m: Math.floor(s / 60), s: s % 60 }) : t('continuity.minutesOnly', { m: s / 60 });
  const minutes = Math.round(s / 60);
  const m = minutes % 60;
  return m ? t('continuity.hours', { h: Math.floor(minutes / 60), m }) : t('continuity.hoursOnly', { h: minutes / 60 });
}

/** Where the detail of a capture is (the list's route, as cases link their items). */
const captureHref = (id: string) => `#/list/${encodeURIComponent(`s:${id}`)}`;

interface Manifest {
  geo?: Geo;
  device?: Record<string, unknown>;
  captured?: { start: string; end: string };
  started_at?: string;
  stream?: { id: string; chunks: number };
  media?: { name?: string };
}

/** When it was made: one time, or a span on one day written once. */
function capturedText(m: Manifest | null, fallback: string | null | undefined, tz?: string): string {
  if (!m?.captured) return fmtTime(m?.started_at ?? fallback, { tz });
  const { start, end } = m.captured;
  if (!end || end === start) return fmtTime(start, { tz });
  const secs = Math.max(0, (new Date(end).getTime() - new Date(start).getTime()) / 1000);
  if (secs < 1) return fmtTime(start, { tz }); // a photo: an instant
  return t('detail.span', { start: { time: start, tz }, seconds: Math.round(secs) });
}

/**
 * 录音完整性 / Is the recording complete: first what a person recognises (continuous
 * or not, each pause and network cut, how it ended, its joins), then, collapsed,
 * the facts an expert checks.
 */
function continuitySection(c: Continuity, tz: string | undefined, open: boolean): HTMLElement {
  const say = (tone: 'ok' | 'warn' | 'info', key: Key, params?: Params, ...more: (Node | string)[]) =>
    h('p', { class: `continuity-say ${tone}`, 'data-tone': tone }, t(key, params), ...more);
  const link = (id: string) => [h('a', { class: 'continuity-link', href: captureHref(id), 'data-testid': 'continuity-link' }, t('continuity.open'))];
  const pauses = c.gaps.filter((g) => g.cause === 'paused');
  const cuts = c.gaps.filter((g) => g.cause === 'network');
  const lead: Node[] = [];
  if (!c.streamed) {
    lead.push(say('info', 'continuity.whole', { duration: duration(c.wall_ms) }));
  } else {
    if (!pauses.length) lead.push(say(c.clock_backwards ? 'warn' : 'ok', 'continuity.continuous', { duration: duration(c.wall_ms) }));
    else if (pauses.length === 1) {
      const g = pauses[0];
      lead.push(say('warn', 'continuity.paused', { from: clock(g.from, tz), to: clock(g.to, tz), duration: duration(g.ms) }));
    } else {
      lead.push(say('warn', 'continuity.pausedMany', { n: pauses.length, duration: duration(c.paused_ms) },
        h('ul', { class: 'continuity-pauses' }, ...pauses.map((g) =>
          h('li', {}, t('continuity.pauseItem', { from: clock(g.from, tz), to: clock(g.to, tz), duration: duration(g.ms) }))))));
    }
    if (c.clock_backwards) lead.push(say('warn', 'continuity.backwards', { n: c.clock_backwards }));
    for (const g of cuts) lead.push(say('info', 'continuity.network', { from: clock(g.from, tz), to: clock(g.to, tz), duration: duration(g.ms) }));
    if (c.ended === 'interrupted') lead.push(say('warn', 'continuity.interrupted', { time: clock(c.device_end, tz) }));
  }
  if (c.continues?.startsWith('stream:')) lead.push(say('info', 'continuity.continuesPending'));
  else if (c.continues) lead.push(say('info', 'continuity.continues', undefined, ...link(c.continues)));
  for (const later of c.continued_by) lead.push(say('info', 'continuity.continuedBy', undefined, ...link(later)));

  const facts = dl(
    ['continuity.deviceStart', fmtTime(c.device_start, { tz })],
    ['continuity.deviceEnd', fmtTime(c.device_end, { tz })],
    ['continuity.wall', duration(c.wall_ms)],
    ['continuity.recorded', c.recorded_ms === null ? t('continuity.unknown') : duration(c.recorded_ms)],
    ['continuity.chunks', c.streamed ? t('continuity.chunksValue', { n: c.chunks, ms: c.interval_ms }) : null],
    ['continuity.uploadedWhole', c.streamed ? null : t('continuity.uploadedWholeValue')],
    ['continuity.ended', c.streamed ? t(c.ended === 'interrupted' ? 'continuity.ended.interrupted' : 'continuity.ended.stopped') : null],
    ['continuity.clockBack', c.clock_backwards ? String(c.clock_backwards) : null],
  );
  for (const g of c.gaps) {
    facts.append(h('dt', {}, t('continuity.gap')), h('dd', { 'data-cause': g.cause },
      t('continuity.gapValue', { from: fmtTime(g.from, { tz, utc: false }), to: clock(g.to, tz), duration: duration(g.ms),
        cause: hasKey(`continuity.cause.${g.cause}`) ? t(`continuity.cause.${g.cause}` as Key) : g.cause })));
  }
  const details = section('continuity.facts', 'continuity-facts', c.streamed ? t('continuity.factsChunks', { n: c.chunks }) : null,
    facts, tx(h('p', { class: 'note' }), 'continuity.explain'));
  (details as HTMLDetailsElement).open = open;
  return h('section', { class: 'card continuity', 'data-testid': 'continuity', 'data-continuous': String(c.continuous),
    'aria-labelledby': 'continuity-title' },
  h('h2', { id: 'continuity-title' }, t('continuity.title')),
  h('div', { class: 'continuity-lead', 'data-testid': 'continuity-lead' }, ...lead),
  details);
}

export class DetailView implements View {
  readonly el: HTMLElement;
  private head: HTMLElement;
  private lead: HTMLElement; // the verdict: what a person reads first
  private mediaBox: HTMLElement;
  private transcriptBox: HTMLElement; // under the player: the 文字稿 (owner, recordings)
  private body: HTMLElement;
  private last: DetailData | null = null;
  private mediaKey = '';
  private bodyKey = ''; // the capture the body shows: its open sections stay open across renders
  private annot: { key: string; el: HTMLElement; dirty: () => boolean; fill: (c: ServerCapture) => void } | null = null;
  /** Counts the owner's saved edits: a read begun before one is older than what is shown. */
  edits = 0;
  private links: { key: string; panel: ShareLinks } | null = null;
  private cases: CaseSummary[] | null = null;
  private transcript: { key: string; panel: TranscriptPanel } | null = null;
  /** The completeness statement of the capture shown (undefined while it loads, null: none). */
  private cont: { id: string; data?: Continuity | null; el?: HTMLElement; lang?: string; tz?: string } | null = null;

  constructor(private ctx: AppCtx, back: () => void) {
    this.head = h('div', { class: 'detail-head' });
    this.lead = h('div', { class: 'detail-lead' });
    this.mediaBox = h('div', { class: 'media-box', 'data-testid': 'media' });
    this.transcriptBox = h('div', { class: 'transcript-box' });
    this.body = h('div', { class: 'detail-body' });
    this.el = h('section', { class: 'view detail', 'data-testid': 'capture-detail', 'aria-labelledby': 'detail-title' },
      tx(h('button', { type: 'button', class: 'btn secondary back', on: { click: back } }), 'detail.back'),
      this.head, this.lead, this.mediaBox, this.transcriptBox, this.body);
  }

  /** What is shown now (a refresh of the outbox keeps the server's part). */
  get data(): DetailData | null {
    return this.last;
  }

  /**
   * Another capture is about to be shown: nothing of the last one may stay on
   * screen meanwhile (a person would read, or type into, the wrong capture).
   */
  forget(): void {
    this.hide();
    this.last = null;
    this.annot = null;
    this.links = null;
    this.cont = null;
    this.dropTranscript();
    this.mediaKey = '';
    this.head.replaceChildren(tx(h('h1', { id: 'detail-title', 'data-testid': 'detail-title' }), 'detail.title'));
    this.lead.replaceChildren();
    this.mediaBox.replaceChildren();
    this.body.replaceChildren(tx(h('p', { class: 'note', 'aria-busy': 'true' }), 'detail.loading'));
  }

  hide(): void {
    this.mediaBox.querySelectorAll('video, audio').forEach((m) => (m as HTMLMediaElement).pause());
  }

  render(d: DetailData): void {
    this.last = d;
    const { row, server } = d;
    if (!row && !server) {
      this.head.replaceChildren(tx(h('h1', { id: 'detail-title' }), 'detail.title'));
      this.lead.replaceChildren();
      this.mediaBox.replaceChildren();
      this.mediaKey = '';
      this.dropTranscript();
      this.body.replaceChildren(tx(h('p', {}), 'detail.notFound'));
      return;
    }
    const item = row?.item ?? null;
    const manifest = (server?.manifest ?? (item?.manifest ? JSON.parse(item.manifest) : null)) as Manifest | null;
    const status = row?.status ?? (server?.stream?.partial ? 'interrupted' : server!.status);
    const kind = row?.kind ?? server!.kind;
    const id = server?.id ?? row?.serverId ?? null;
    const key = row?.key ?? `s:${id}`;
    const fullRow: Row = row ?? { key, localId: null, serverId: id, status, kind, sha256: server!.media.sha256, time: server!.received_at, item: null, server };
    const title = rowTitle({ ...fullRow, server: server ?? fullRow.server });
    const tz = (manifest?.device?.timezone as string | undefined) || undefined;

    // -- the head: what it is, its state ------------------------------------------------
    this.head.replaceChildren(
      h('h1', { id: 'detail-title', 'data-testid': 'detail-title', ...(server?.title || kind === 'import' ? { translate: 'no' } : {}) }, title),
      h('p', { class: 'detail-sub' },
        h('span', { class: `badge big status-${status}`, 'data-status': status }, t(`status.${status}` as Key)), ' ',
        h('span', { class: 'detail-kind' }, t(`kind.${kind}` as Key)), ' · ',
        h('span', { class: 'detail-when' }, capturedText(manifest, item?.start ?? row?.time, tz))));

    // -- the picture or the recording (kept across renders: playback goes on) -------------
    const mediaKey = `${key}|${id ?? ''}|${item?.state.mediaHeld ?? ''}`;
    if (mediaKey !== this.mediaKey) {
      this.mediaKey = mediaKey;
      void this.loadMedia(mediaKey, fullRow, server, kind);
    }

    // -- the transcript, under the player: the owner's own recordings -----------------------
    this.mountTranscript(id, server, kind, title);

    // -- one sentence, above the picture -------------------------------------------------
    const sentence = verdictSentence(server?.verdict);
    this.lead.replaceChildren(
      sentence ? h('p', { class: 'verdict', 'data-testid': 'verdict' }, sentence)
        : !server ? tx(h('p', { class: 'verdict pending' }), `detail.state.${status}` as Key) : '',
      kind === 'import' ? tx(h('p', { class: 'note import-note' }), 'detail.imported') : '');
    const parts: (Node | null)[] = [];
    if (item?.state.rejection) {
      parts.push(h('div', { class: 'card error-card', role: 'alert' },
        tx(h('h2', {}), 'detail.rejected'),
        h('p', { 'data-testid': 'reject-reason' }, t('problem.withDetail', { message: problemParam(item.state.rejection), detail: { raw: item.state.rejection.code } }))));
    }
    if (item?.state.lastError && (status === 'queued' || status === 'uploading')) {
      parts.push(h('p', { class: 'note' }, t('detail.lastError'), colon(), t('problem.withDetail', { message: problemParam(item.state.lastError), detail: { raw: item.state.lastError.code } })));
    }
    if (server?.stream?.partial) parts.push(tx(h('p', { class: 'note' }), 'detail.partial'));
    if (item?.stream?.killed) parts.push(tx(h('p', { class: 'note' }), 'detail.killed'));
    if (server?.device.revoked_at) parts.push(tx(h('p', { class: 'note' }), 'detail.keyRevoked', { time: { time: server.device.revoked_at } }));

    // -- a call or a meeting, as the signed manifest says it ----------------------------------
    parts.push(contextCard((manifest as { context?: unknown } | null)?.context, tz));

    // -- is the recording complete: the owner's recordings ---------------------------------
    parts.push(this.continuity(id, server, kind, tz));

    // -- the owner's words --------------------------------------------------------------
    if (server && 'title' in server) parts.push(this.annotations(server));

    // -- where ------------------------------------------------------------------------
    parts.push(this.placeSection(manifest?.geo ?? item?.geo ?? item?.stream?.pending.geo ?? null, server));

    // -- what can be done -------------------------------------------------------------
    if (id && server) parts.push(this.actions(id, server, title));
    else if (!id) parts.push(tx(h('p', { class: 'note' }), 'detail.actionsLater'));

    // -- for experts ------------------------------------------------------------------
    parts.push(...this.expert(d, fullRow, manifest, kind, tz));
    if (d.offline) parts.push(tx(h('p', { class: 'note' }), 'detail.offline'));
    // A render (the upload's progress, its anchoring, a language switch) must not
    // close what the person opened.
    const open = key === this.bodyKey ? openSections(this.body) : new Set<string>();
    this.bodyKey = key;
    this.body.replaceChildren(...parts.filter((p): p is Node => p !== null));
    for (const el of this.body.querySelectorAll<HTMLDetailsElement>('details[data-testid]')) {
      if (open.has(el.dataset.testid!)) el.open = true;
    }
  }

  relabel(): void {
    // the boxes keep what a person typed: a language switch changes labels, not their words
    if (this.last) this.render(this.last);
    this.transcript?.panel.relabel();
  }

  // -- the transcript -------------------------------------------------------------------

  /**
   * The same capture keeps its panel across renders (a person may be typing in it,
   * and a job may be watched); another capture gets a new one.
   */
  private mountTranscript(id: string | null, server: ServerCapture | null, kind: string, title: string): void {
    // GET /captures/{id} answers the owner only, with the owner's words ('title'): as for annotations
    const own = !!id && !!server && 'title' in server && transcribable(kind, server);
    if (!own) {
      this.dropTranscript();
      return;
    }
    if (this.transcript?.key !== id) {
      this.dropTranscript();
      const panel = new TranscriptPanel({
        capture: { id: id!, manifest_sha256: server!.manifest_hash, media_sha256: server!.media.sha256 },
        token: () => this.ctx.token(),
        expired: () => this.ctx.expired(),
        toast: (text) => this.ctx.toast(text),
        media: () => this.mediaBox.querySelector<HTMLMediaElement>('audio, video'),
        keyId: signingKeyId,
        title: () => this.transcriptTitle,
      });
      this.transcript = { key: id!, panel };
    }
    this.transcriptTitle = title;
    if (this.transcript!.panel.el.parentElement !== this.transcriptBox) this.transcriptBox.replaceChildren(this.transcript!.panel.el);
    this.transcript!.panel.shown();
  }

  private transcriptTitle = '';

  private dropTranscript(): void {
    this.transcript?.panel.destroy();
    this.transcript = null;
    this.transcriptBox.replaceChildren();
  }

  // -- is the recording complete ---------------------------------------------------------

  /**
   * 录音完整性: GET /captures/{id}/continuity, once per capture shown; nothing
   * while it loads, nor for what is not a recording (409) or not found (404).
   */
  private continuity(id: string | null, server: ServerCapture | null, kind: string, tz: string | undefined): HTMLElement | null {
    const own = !!id && !!server && 'title' in server && transcribable(kind, server);
    if (!own) {
      this.cont = null;
      return null;
    }
    if (this.cont?.id !== id) {
      this.cont = { id: id! };
      void this.loadContinuity(id!);
    }
    const c = this.cont;
    if (!c.data) return null;
    if (!c.el || c.lang !== lang() || c.tz !== tz) {
      const open = c.el?.querySelector('details')?.open ?? false;
      c.el = continuitySection(c.data, tz, open);
      c.lang = lang();
      c.tz = tz;
    }
    return c.el;
  }

  private async loadContinuity(id: string): Promise<void> {
    let data: Continuity | null;
    try {
      data = await apiFetch<Continuity>(`/captures/${encodeURIComponent(id)}/continuity`, { token: this.ctx.token() });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.ctx.expired();
      if (this.cont?.id !== id) return;
      // not a recording, or not found: no section; anything else: asked again on the next render
      if (err instanceof ApiError && (err.status === 404 || err.status === 409)) this.cont.data = null;
      else this.cont = null;
      return;
    }
    if (this.cont?.id !== id) return;
    this.cont.data = data;
    if (this.last) this.render(this.last);
  }

  // -- the media ----------------------------------------------------------------------

  private async loadMedia(mediaKey: string, row: Row, server: ServerCapture | null, kind: string): Promise<void> {
    const mime = server?.media.mime ?? row.item?.mime ?? '';
    const size = server?.media.size ?? row.item?.size ?? row.item?.stream?.size ?? 0;
    const id = server?.id ?? row.serverId;
    this.mediaBox.replaceChildren();
    this.mediaBox.dataset.state = 'loading';
    const peek = id ? this.ctx.thumbs.peek(`s:${id}`) : null;
    if (peek) this.mediaBox.append(h('img', { class: 'media poster', src: peek, alt: '' }));
    const show = (url: string) => {
      if (this.mediaKey !== mediaKey) return;
      this.mediaBox.replaceChildren(this.player(url, mime, kind));
      this.mediaBox.dataset.state = 'ready';
    };
    // 1. On this device still: no download.
    const local = row.item ? await this.localBlob(row) : null;
    if (local) return show(URL.createObjectURL(local));
    if (!id) {
      this.mediaBox.dataset.state = 'none';
      this.mediaBox.replaceChildren(h('div', { class: 'media-missing' }, icon(kind === 'photo' ? 'photo' : 'file'), tx(h('p', {}), 'detail.mediaLater')));
      return;
    }
    const cached = ORIGINALS.get(id);
    if (cached) return show(cached);
    const fetchIt = async () => {
      this.mediaBox.dataset.state = 'loading';
      try {
        const { blob } = await apiBlob(`/captures/${encodeURIComponent(id)}/original`, { token: this.ctx.token() });
        const url = URL.createObjectURL(blob.type ? blob : new Blob([blob], { type: mime }));
        remember(id, url);
        show(url);
      } catch (err) {
        if (this.mediaKey !== mediaKey) return;
        this.mediaBox.dataset.state = 'error';
        this.mediaBox.replaceChildren(h('div', { class: 'media-missing' }, icon('file'), h('p', {}, errorText(err))));
      }
    };
    const playable = /^(image|audio|video)\//.test(mime.split(';')[0]);
    if (!playable) {
      this.mediaBox.dataset.state = 'file';
      const name = (server?.manifest?.media as { name?: string } | undefined)?.name ?? row.item?.name ?? '';
      this.mediaBox.replaceChildren(h('div', { class: 'media-file' }, icon('file', undefined, 'icon big'),
        h('p', { translate: 'no' }, name), h('p', { class: 'note' }, mime, ' · ', fmtBytes(size))));
      return;
    }
    if (size > AUTO_LOAD) {
      this.mediaBox.dataset.state = 'ask';
      const btn = tx(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'load-media' }), 'detail.loadMedia', { size: fmtBytes(size) });
      btn.addEventListener('click', () => void fetchIt());
      this.mediaBox.append(h('div', { class: 'media-ask' }, btn));
      return;
    }
    await fetchIt();
  }

  /** The capture's bytes if this device still holds them all. */
  private async localBlob(row: Row): Promise<Blob | null> {
    const item = row.item!;
    if (!item.state.mediaHeld) return null;
    if (!item.stream) return (await getMedia(item.id)) ?? null;
    if (item.stream.acked > 0) return null; // the first seconds are on the server only
    const chunks = await (await openDb()).getAll('chunks', IDBKeyRange.bound([item.id, 0], [item.id, Infinity]));
    if (!chunks.length || chunks[0].seq !== 0) return null;
    return new Blob(chunks.map((c) => c.data), { type: item.mime });
  }

  private player(url: string, mime: string, kind: string): HTMLElement {
    const type = mime.split(';')[0];
    if (type.startsWith('image/')) return h('img', { class: 'media', src: url, alt: t('detail.pictureAlt'), 'data-testid': 'media-image' });
    if (type.startsWith('audio/') || kind === 'audio') {
      return h('div', { class: 'audio-box' }, icon('audio', undefined, 'icon big'),
        h('audio', { class: 'media', src: url, controls: true, preload: 'metadata', 'data-testid': 'media-audio' }));
    }
    return h('video', { class: 'media', src: url, controls: true, playsinline: true, preload: 'metadata', 'data-testid': 'media-video' });
  }

  // -- the owner's words ----------------------------------------------------------------

  private annotations(server: ServerCapture): HTMLElement {
    // The same capture keeps its form (a render must never swap the box a person is
    // typing in); untouched boxes take what the server now says.
    if (this.annot?.key === server.id) {
      if (!this.annot.dirty()) this.annot.fill(server);
      return this.annot.el;
    }
    const title = h('input', { id: 'annot-title', type: 'text', maxlength: 200, value: server.title ?? '', 'data-testid': 'annot-title', autocomplete: 'off' });
    const note = h('textarea', { id: 'annot-note', maxlength: 10000, rows: 3, 'data-testid': 'annot-note' });
    note.value = server.note ?? '';
    const tags = h('input', { id: 'annot-tags', type: 'text', value: (server.tags ?? []).join(', '), 'data-testid': 'annot-tags', autocomplete: 'off' });
    const save = tx(h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'annot-save' }), 'annot.save');
    const msg = h('p', { class: 'note', 'aria-live': 'polite' });
    const form = h('form', { class: 'card form annotations', 'data-testid': 'annotations' },
      tx(h('h2', {}), 'annot.title'),
      tx(h('p', { class: 'note' }), 'annot.notEvidence'),
      h('div', { class: 'field' }, tx(h('label', { htmlFor: 'annot-title' }), 'annot.name'), title),
      h('div', { class: 'field' }, tx(h('label', { htmlFor: 'annot-note' }), 'annot.note'), note),
      h('div', { class: 'field' }, tx(h('label', { htmlFor: 'annot-tags' }), 'annot.tags'), tags, tx(h('span', { class: 'hint-text' }), 'annot.tagsHint')),
      save, msg);
    // What the boxes were last filled with: a box that differs holds the person's own
    // typing, which no render may overwrite (a flag set by 'input' events can miss some).
    let filled = [title.value, note.value, tags.value];
    const state = {
      key: server.id, el: form,
      dirty: () => title.value !== filled[0] || note.value !== filled[1] || tags.value !== filled[2],
      fill: (c: ServerCapture) => {
        title.value = c.title ?? '';
        note.value = c.note ?? '';
        tags.value = (c.tags ?? []).join(', ');
        filled = [title.value, note.value, tags.value];
      },
    };
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      save.disabled = true;
      try {
        const updated = await apiFetch<ServerCapture>(`/captures/${encodeURIComponent(server.id)}`, {
          method: 'PATCH', token: this.ctx.token(),
          json: { title: title.value.trim(), note: note.value, tags: tags.value.split(/[,，、]/).map((s) => s.trim()).filter(Boolean) },
        });
        state.fill(updated);
        this.edits++;
        this.ctx.updated(updated);
        this.ctx.toast(t('annot.saved'));
        if (this.last) this.render({ ...this.last, server: { ...this.last.server, ...updated } });
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) this.ctx.expired();
        if (notAvailable(err)) tx(msg, 'problem.not_available');
        else msg.textContent = errorText(err);
      } finally {
        save.disabled = false;
      }
    });
    this.annot = state;
    return form;
  }

  // -- where --------------------------------------------------------------------------

  private placeSection(geo: Geo | null, server: ServerCapture | null): HTMLElement {
    const box = h('div', { class: 'card place', 'data-testid': 'place' }, tx(h('h2', {}), 'detail.location'));
    const name = placeName(server?.place);
    if (name) {
      box.append(h('p', { class: 'place-name' }, icon('pin'), ' ', h('strong', { translate: 'no' }, name),
        server?.place?.distance_km !== undefined && server.place.distance_km >= 1
          ? tx(h('span', { class: 'note' }), 'detail.placeDistance', { km: fmtNumber(server.place.distance_km, 1) }) : null));
    }
    if (!geo) box.append(tx(h('p', {}), 'detail.none'));
    else if (!isFix(geo)) box.append(tx(h('p', {}), `geo.absent.${geo.absent}` as Key));
    else {
      box.append(h('p', { class: 'geo-detail' },
        t('geo.fix', { lat: fmtNumber(geo.lat, 6), lon: fmtNumber(geo.lon, 6), acc: fmtNumber(geo.accuracy) }), h('br'),
        h('span', { class: 'note' }, t('detail.fixedAt', { time: { time: geo.fixed_at } }))));
      const map = mapTile(geo.lat, geo.lon, t('detail.map'));
      if (map) box.append(map);
    }
    return box;
  }

  // -- actions --------------------------------------------------------------------------

  private actions(id: string, server: ServerCapture, title: string): HTMLElement {
    const token = () => this.ctx.token();
    const run = (btn: HTMLButtonElement, fn: () => Promise<unknown>) => btn.addEventListener('click', async () => {
      btn.disabled = true;
      btn.setAttribute('aria-busy', 'true');
      try {
        await fn();
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) this.ctx.expired();
        this.ctx.toast(notAvailable(err) ? t('problem.not_available') : errorText(err));
      } finally {
        btn.disabled = false;
        btn.removeAttribute('aria-busy');
      }
    });
    const button = (ic: Parameters<typeof icon>[0], key: Key, testid: string, cls = 'btn secondary') =>
      h('button', { type: 'button', class: cls, 'data-testid': testid }, icon(ic), tx(h('span', {}), key));
    const exportBtn = button('download', 'detail.export', 'export');
    run(exportBtn, () => fetchAndHand(`/captures/${encodeURIComponent(id)}/bundle`, token(), `fieldproof-${id}.zip`, title, false));
    const certBtn = button('certificate', 'detail.certificate', 'certificate');
    run(certBtn, () => fetchAndHand(`/captures/${encodeURIComponent(id)}/certificate.pdf`, token(), `fieldproof-certificate-${id}.pdf`, title, false));
    const shareCert = button('certificate', 'detail.shareCertificate', 'share-certificate');
    run(shareCert, async () => {
      const { blob, filename } = await apiBlob(`/captures/${encodeURIComponent(id)}/certificate.pdf`, { token: token() });
      await shareOrDownload(blob, filename ?? `fieldproof-certificate-${id}.pdf`, title);
    });
    const shareBundle = button('share', 'detail.shareBundle', 'share-bundle');
    run(shareBundle, async () => {
      const { blob, filename } = await apiBlob(`/captures/${encodeURIComponent(id)}/bundle`, { token: token() });
      await shareOrDownload(blob, filename ?? `fieldproof-${id}.zip`, title);
    });
    if (this.links?.key !== id) this.links = { key: id, panel: new ShareLinks(this.ctx, 'capture', id, () => title) };
    const links = this.links.panel;
    const shareBox = h('details', { class: 'card share-box', 'data-testid': 'share' },
      h('summary', {}, icon('share'), ' ', tx(h('span', {}), 'detail.share')),
      tx(h('p', { class: 'note' }), 'detail.shareIntro'),
      h('div', { class: 'button-row' }, shareCert, shareBundle),
      tx(h('h3', {}), 'links.title'), links.el);
    shareBox.addEventListener('toggle', () => {
      if ((shareBox as HTMLDetailsElement).open) void links.show();
    });
    return h('div', { class: 'actions' },
      h('div', { class: 'button-row' }, exportBtn, certBtn),
      shareBox,
      this.caseBox(id, server),
      tx(h('a', { class: 'btn secondary wide', href: `/verify?capture=${encodeURIComponent(id)}` }), 'detail.verify'));
  }

  /** Which cases hold this capture, and adding it to one. */
  private caseBox(id: string, server: ServerCapture): HTMLElement {
    const inCases = server.cases ?? [];
    const list = h('ul', { class: 'in-cases' }, ...inCases.map((c) =>
      h('li', {}, h('a', { href: `#/cases/${encodeURIComponent(c.id)}`, translate: 'no' }, c.title), ' ',
        tx(h('span', { class: 'note' }), 'cases.itemNumber', { n: c.position }))));
    const select = h('select', { id: 'add-case', 'data-testid': 'add-case-select' });
    const newTitle = h('input', { id: 'add-case-title', type: 'text', maxlength: 200, 'data-testid': 'add-case-title' });
    const newField = h('div', { class: 'field', hidden: true }, tx(h('label', { htmlFor: 'add-case-title' }), 'cases.newTitle'), newTitle);
    const purpose = h('textarea', { id: 'add-case-purpose', rows: 2, 'data-testid': 'add-case-purpose' });
    const add = tx(h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'add-case-submit' }), 'cases.add');
    const msg = h('p', { class: 'note', 'aria-live': 'polite' });
    const fill = () => {
      select.replaceChildren(...(this.cases ?? []).map((c) => h('option', { value: c.id, translate: 'no' }, c.title)),
        tx(h('option', { value: '' }), 'cases.newCase'));
      newField.hidden = select.value !== '';
    };
    select.addEventListener('change', () => (newField.hidden = select.value !== ''));
    const form = h('form', { class: 'form compact' },
      h('div', { class: 'field' }, tx(h('label', { htmlFor: 'add-case' }), 'cases.pick'), select), newField,
      h('div', { class: 'field' }, tx(h('label', { htmlFor: 'add-case-purpose' }), 'cases.purpose'), purpose, tx(h('span', { class: 'hint-text' }), 'cases.purposeHint')),
      add, msg);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      add.disabled = true;
      try {
        let caseId = select.value;
        if (!caseId) {
          if (!newTitle.value.trim()) {
            tx(msg, 'cases.titleNeeded');
            return;
          }
          caseId = (await apiFetch<CaseSummary>('/cases', { token: this.ctx.token(), json: { title: newTitle.value.trim() } })).id;
          this.cases = null;
        }
        await apiFetch(`/cases/${encodeURIComponent(caseId)}/items`, { token: this.ctx.token(), json: { capture_id: id, ...(purpose.value.trim() ? { purpose: purpose.value.trim() } : {}) } });
        this.ctx.toast(t('cases.added'));
        this.ctx.navigate(`#/cases/${encodeURIComponent(caseId)}`);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) this.ctx.expired();
        if (notAvailable(err)) tx(msg, 'problem.not_available');
        else msg.textContent = errorText(err);
      } finally {
        add.disabled = false;
      }
    });
    const box = h('details', { class: 'card case-box', 'data-testid': 'add-to-case' },
      h('summary', {}, icon('cases'), ' ', tx(h('span', {}), 'cases.addTo')),
      inCases.length ? h('div', {}, tx(h('p', { class: 'note' }), 'cases.inCases'), list) : null,
      form);
    box.addEventListener('toggle', async () => {
      if (!(box as HTMLDetailsElement).open) return;
      if (this.cases === null) {
        try {
          this.cases = (await apiFetch<{ items: CaseSummary[] }>('/cases', { token: this.ctx.token() })).items;
        } catch (err) {
          this.cases = [];
          if (notAvailable(err)) tx(msg, 'problem.not_available');
        }
      }
      fill();
    });
    fill();
    return box;
  }

  // -- for experts ----------------------------------------------------------------------

  private expert(d: DetailData, row: Row, manifest: Manifest | null, kind: string, tz: string | undefined): Node[] {
    const { server, receipt } = d;
    const item = row.item;
    const out: Node[] = [];
    if (server?.checks?.length) {
      const flagged = server.checks.filter((c) => !c.ok).length;
      const ul = h('ul', { class: 'checks' });
      for (const c of server.checks) {
        ul.append(h('li', { class: c.ok ? 'ok' : 'flag', 'data-check': c.name },
          h('span', { class: 'check-mark', 'aria-hidden': 'true' }, c.ok ? '✓' : '!'),
          h('strong', {}, checkName(c.name)), ' ',
          h('span', { class: 'check-state' }, t(c.ok ? 'detail.checkOk' : 'detail.checkFlag')),
          h('br'), h('span', { class: 'check-detail' }, ...checkNodes(c))));
      }
      const summary = flagged ? t('detail.checksFlagged', { n: flagged, total: server.checks.length }) : t('detail.checksAllOk', { n: server.checks.length });
      out.push(section('detail.checks', 'checks-section', summary, tx(h('p', { class: 'note' }), 'detail.checksIntro'), ul));
    }
    const stamps = receipt ? h('ul', { class: 'stamps' }, ...receipt.timestamps.map((s) =>
      h('li', {}, tx(h('span', {}), s.embedded ? 'detail.tsaEmbedded' : 'detail.tsaExternal', { tsa: { raw: s.tsa } }), h('br'),
        t('detail.genTime'), colon(), fmtTime(s.gen_time)))) : null;
    const dev = (manifest?.device ?? item?.device) as Record<string, unknown> | null | undefined;
    out.push(section('detail.technical', 'technical', null,
      dl(
        ['detail.kind', t(`kind.${kind}` as Key)],
        ['detail.captured', capturedText(manifest, item?.start ?? row.time)],
        ['detail.capturedDevice', tz && manifest?.captured ? capturedText(manifest, null, tz) : null],
        ['detail.received', server ? fmtTime(server.received_at) : null],
        ['detail.localId', mono(row.localId)],
        ['detail.serverId', mono(server?.id ?? row.serverId)],
        ['detail.sha256', mono(server?.media.sha256 ?? item?.sha256)],
        ['detail.size', fmtBytes(server?.media.size ?? item?.size ?? item?.stream?.size)],
        ['detail.mime', mono(server?.media.mime ?? item?.mime)],
        ['detail.manifestHash', mono(server?.manifest_hash ?? item?.manifestHash)],
        ['detail.signature', mono(server?.signature ?? item?.signature)],
        ['detail.streamId', mono(server?.stream?.id ?? item?.stream?.id)],
        ['detail.chunks', manifest?.stream ? String(manifest.stream.chunks) : item?.stream ? String(item.stream.recorded) : null],
        ['detail.keyId', mono(dev ? String(dev.key_id ?? '') : null)],
        ['detail.device', dev ? h('span', { translate: 'no' }, [dev.platform, dev.app_version, dev.timezone, dev.language].filter(Boolean).join(' · ')) : null],
      ),
      dev?.user_agent ? h('p', { class: 'ua', translate: 'no' }, String(dev.user_agent)) : null,
      tx(h('h3', {}), 'detail.receipt'),
      receipt ? dl(
        ['detail.leafIndex', String(receipt.leaf_index)],
        ['detail.treeSize', String(receipt.tree_size)],
        ['detail.checkpointAt', fmtTime(d.checkpointAt ?? item?.state.anchor?.checkpointAt)],
        ['detail.timestamps', stamps],
      ) : tx(h('p', {}), 'detail.noReceipt')));
    if (d.custody?.length) {
      out.push(section('custody.title', 'custody-section', t('detail.custodyCount', { n: d.custody.length }),
        tx(h('p', { class: 'note' }), 'detail.custodyIntro'), custodyList(d.custody)));
    }
    return out;
  }
}

