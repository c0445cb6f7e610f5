// The captures list: what is on the device (the outbox) merged with what the
// server has, each row with its picture, title, place, time and live status;
// a search box and filters (kind, status, dates, case).
import { fmtBytes, fmtTime, placeholder, t, tx, type Key } from '../i18n';
import { placeName } from '../i18n/place';
import type { Thumbnails } from '../app/files';
import type { ServerCapture } from '../shared/api';
import type { OutboxItem } from '../shared/db';
import type { Status } from '../shared/outbox';
import type { ProgressEvent } from '../app/socket';
import { clear, h, type View } from './dom';
import { icon, isIcon } from './icons';
import { problemParam } from './problems';

export interface Row {
  key: string; // local id, or "s:" + server id for captures not on this device
  localId: string | null;
  serverId: string | null;
  status: Status;
  kind: string;
  sha256: string | null;
  time: string;
  item: OutboxItem | null;
  server: ServerCapture | null;
}

export function rowsFrom(items: OutboxItem[], server: ServerCapture[]): Row[] {
  const rows: Row[] = items.map((item) => ({
    key: item.id,
    localId: item.id,
    serverId: item.state.captureId,
    status: item.state.status,
    kind: item.kind,
    sha256: item.sha256,
    time: item.createdAt,
    item,
    server: server.find((c) => c.id === item.state.captureId) ?? null,
  }));
  const known = new Set(rows.map((r) => r.serverId).filter(Boolean));
  for (const c of server) {
    if (known.has(c.id)) continue;
    rows.push({
      key: `s:${c.id}`,
      localId: null,
      serverId: c.id,
      status: c.stream?.partial ? 'interrupted' : c.status,
      kind: c.kind,
      sha256: c.media.sha256,
      time: (c.manifest?.captured as { start?: string } | undefined)?.start ?? (c.manifest as { started_at?: string })?.started_at ?? c.received_at,
      item: null,
      server: c,
    });
  }
  return rows.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
}

export interface ListProgress {
  get(id: string): { sent: number; total: number } | undefined;
}

export interface Filters {
  q: string;
  kind: string; // '' = any
  status: string; // '', 'unsent', 'stored', 'anchored'
  from: string; // YYYY-MM-DD (local), '' = open
  to: string;
  case: string; // case id
}

export const NO_FILTERS: Filters = { q: '', kind: '', status: '', from: '', to: '', case: '' };
const KINDS = ['photo', 'audio', 'video', 'screen', 'import', 'web'];
const STATUSES = ['unsent', 'stored', 'anchored'];

export function filtersActive(f: Filters): boolean {
  return Object.values(f).some((v) => v !== '');
}

/** The day's start in local time as RFC 3339 UTC (the end of `to`'s day for `to`). */
function dayBound(day: string, end: boolean): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const d = new Date(`${day}T00:00:00`);
  if (end) d.setDate(d.getDate() + 1);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** GET /captures query parameters for the filters (the server searches; we filter again). */
export function serverQuery(f: Filters): string {
  const p = new URLSearchParams();
  if (f.q.trim()) p.set('q', f.q.trim());
  if (f.kind) p.set('kind', f.kind);
  if (f.status === 'stored' || f.status === 'anchored') p.set('status', f.status);
  const from = dayBound(f.from, false);
  const to = dayBound(f.to, true);
  if (from) p.set('from', from);
  if (to) p.set('to', to);
  if (f.case) p.set('case', f.case);
  return p.toString();
}

/** The same filters on this device (offline, and for what is not sent yet). */
export function matches(row: Row, f: Filters): boolean {
  if (f.kind && row.kind !== f.kind) return false;
  if (f.status === 'unsent' && !['queued', 'uploading', 'rejected'].includes(row.status)) return false;
  if (f.status === 'stored' && !['stored', 'interrupted'].includes(row.status)) return false;
  if (f.status === 'anchored' && row.status !== 'anchored') return false;
  const when = row.server?.received_at ?? row.time;
  const from = dayBound(f.from, false);
  const to = dayBound(f.to, true);
  if (from && when < from) return false;
  if (to && when >= to) return false;
  if (f.case && !row.server?.cases?.some((c) => c.id === f.case)) return false;
  const q = f.q.trim().toLowerCase();
  if (q) {
    const s = row.server;
    const hay = [s?.title, s?.note, ...(s?.tags ?? []), s?.place?.name, s?.place?.name_zh, s?.place?.admin1, s?.place?.admin1_zh,
      row.item?.name, (s?.manifest?.media as { name?: string } | undefined)?.name, t(`kind.${row.kind}` as Key)]
      .filter(Boolean).join('\n').toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

export function rowTitle(row: Row): string {
  const name = row.item?.name ?? (row.server?.manifest?.media as { name?: string } | undefined)?.name;
  return row.server?.title || (row.kind === 'import' && name ? name : t(`kind.${row.kind}` as Key));
}

export class ListView implements View {
  readonly el: HTMLElement;
  private storage: HTMLElement;
  private cached: HTMLElement;
  private list: HTMLElement;
  private empty: HTMLElement;
  private rows = new Map<string, HTMLButtonElement>();
  private thumbEls = new Map<string, HTMLElement>();
  private current: Row[] = [];
  private live: HTMLElement;
  private liveEvents: ProgressEvent[] = [];
  private filters: Filters = { ...NO_FILTERS };
  private search: HTMLInputElement;
  private kindSel: HTMLSelectElement;
  private statusSel: HTMLSelectElement;
  private fromIn: HTMLInputElement;
  private toIn: HTMLInputElement;
  private caseSel: HTMLSelectElement;
  private caseField: HTMLElement;
  private filterCount: HTMLElement;
  private clearBtn: HTMLButtonElement;
  private debounce: ReturnType<typeof setTimeout> | null = null;

  constructor(private open: (key: string) => void, private progress: ListProgress, private thumbs: Thumbnails,
    private onFilters: (f: Filters) => void) {
    this.storage = h('p', { class: 'storage', 'data-testid': 'storage' });
    this.cached = h('p', { class: 'note cached', 'data-testid': 'list-cached', hidden: true });
    this.list = h('ul', { class: 'captures', role: 'list' });
    this.empty = tx(h('p', { class: 'empty', 'data-testid': 'list-empty' }), 'list.empty');
    this.live = h('ul', { class: 'live-elsewhere', 'aria-live': 'polite' });
    const changed = (now = false) => {
      this.read();
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.onFilters({ ...this.filters }), now ? 0 : 300);
    };
    this.search = placeholder(h('input', { type: 'search', id: 'list-search', class: 'search', 'data-testid': 'list-search', enterkeyhint: 'search',
      autocomplete: 'off', on: { input: () => changed(), change: () => changed(true) } }), 'list.searchHint');
    const select = (id: string, options: [string, Key][], testid: string) => {
      const sel = h('select', { id, 'data-testid': testid, on: { change: () => changed(true) } });
      for (const [value, key] of options) sel.append(tx(h('option', { value }), key));
      return sel;
    };
    this.kindSel = select('filter-kind', [['', 'list.filter.anyKind'], ...KINDS.map((k) => [k, `kind.${k}`] as [string, Key])], 'filter-kind');
    this.statusSel = select('filter-status', [['', 'list.filter.anyStatus'], ...STATUSES.map((k) => [k, `list.filter.status.${k}`] as [string, Key])], 'filter-status');
    this.caseSel = select('filter-case', [['', 'list.filter.anyCase']], 'filter-case');
    this.fromIn = h('input', { type: 'date', id: 'filter-from', 'data-testid': 'filter-from', on: { change: () => changed(true) } });
    this.toIn = h('input', { type: 'date', id: 'filter-to', 'data-testid': 'filter-to', on: { change: () => changed(true) } });
    const field = (id: string, key: Key, control: HTMLElement) =>
      h('div', { class: 'field' }, tx(h('label', { htmlFor: id }), key), control);
    this.caseField = field('filter-case', 'list.filter.case', this.caseSel);
    this.caseField.hidden = true;
    this.filterCount = h('span', { class: 'filter-count' });
    this.clearBtn = tx(h('button', { type: 'button', class: 'btn secondary', 'data-testid': 'filter-clear', on: { click: () => {
      this.setFilters({ ...NO_FILTERS });
      changed(true);
    } } }), 'list.filter.clear');
    const filters = h('details', { class: 'filters', 'data-testid': 'filters' },
      h('summary', {}, tx(h('span', {}), 'list.filter.title'), ' ', this.filterCount),
      h('div', { class: 'filter-grid' },
        field('filter-kind', 'list.filter.kind', this.kindSel),
        field('filter-status', 'list.filter.status', this.statusSel),
        field('filter-from', 'list.filter.from', this.fromIn),
        field('filter-to', 'list.filter.to', this.toIn),
        this.caseField),
      this.clearBtn);
    this.el = h('section', { class: 'view list', 'aria-labelledby': 'list-title' },
      tx(h('h1', { id: 'list-title' }), 'list.title'), this.storage, this.cached,
      h('div', { class: 'search-box', role: 'search' }, tx(h('label', { htmlFor: 'list-search', class: 'vh' }), 'list.search'), icon('search'), this.search),
      filters, this.live, this.empty, this.list);
  }

  private read(): void {
    this.filters = { q: this.search.value, kind: this.kindSel.value, status: this.statusSel.value, from: this.fromIn.value, to: this.toIn.value, case: this.caseSel.value };
    const n = Object.entries(this.filters).filter(([k, v]) => k !== 'q' && v !== '').length;
    this.filterCount.textContent = n ? `(${n})` : '';
    this.clearBtn.disabled = !filtersActive(this.filters);
  }

  setFilters(f: Filters): void {
    this.search.value = f.q;
    this.kindSel.value = f.kind;
    this.statusSel.value = f.status;
    this.fromIn.value = f.from;
    this.toIn.value = f.to;
    this.caseSel.value = f.case;
    this.read();
  }

  /** The cases to filter by (null: this server has none; the filter is hidden). */
  setCases(cases: { id: string; title: string }[] | null): void {
    this.caseField.hidden = !cases?.length;
    const value = this.caseSel.value;
    while (this.caseSel.options.length > 1) this.caseSel.remove(1);
    for (const c of cases ?? []) this.caseSel.append(h('option', { value: c.id, translate: 'no' }, c.title));
    this.caseSel.value = cases?.some((c) => c.id === value) ? value : '';
  }

  /** Recordings streaming right now from another session of this account (Socket.IO 'progress'). */
  setLiveElsewhere(events: ProgressEvent[]): void {
    this.liveEvents = events;
    this.live.replaceChildren(...events.map((e) =>
      h('li', { class: 'live-row', 'data-testid': 'live-elsewhere', 'data-stream': e.stream_id },
        t('list.liveElsewhere', { kind: { kind: e.kind }, seconds: Math.round(e.seconds), chunks: e.chunks }))));
  }

  /** Storage use and whether the browser may clear it: each part relabels itself on a language switch. */
  setStorage(est: { usage?: number; quota?: number } | null, persisted: boolean | null): void {
    if (!est || est.usage === undefined || est.quota === undefined) {
      this.storage.replaceChildren(tx(h('span', {}), 'list.storageUnknown'));
      return;
    }
    this.storage.replaceChildren(
      tx(h('span', {}), 'list.storage', { used: fmtBytes(est.usage), quota: fmtBytes(est.quota) }), ' ',
      tx(h('span', { class: persisted ? 'persisted' : 'not-persisted', 'data-testid': 'storage-warning' }), persisted ? 'list.persisted' : 'list.notPersisted'));
    this.storage.dataset.usage = String(est.usage);
    this.storage.dataset.quota = String(est.quota);
    this.storage.dataset.persisted = String(!!persisted);
  }

  /** When the server's part of the list comes from the device (offline), say as of when. */
  setCached(at: string | null): void {
    this.cached.hidden = !at;
    if (at) tx(this.cached, 'list.cached', { time: { time: at, utc: false } });
  }

  render(rows: Row[]): void {
    const shown = rows.filter((r) => matches(r, this.filters));
    this.current = shown;
    this.empty.hidden = shown.length > 0;
    tx(this.empty, filtersActive(this.filters) && rows.length ? 'list.noMatch' : 'list.empty');
    const seen = new Set<string>();
    shown.forEach((row, i) => {
      seen.add(row.key);
      let btn = this.rows.get(row.key);
      if (!btn) {
        btn = h('button', { type: 'button', class: 'capture-row', 'data-testid': 'capture-item', on: { click: () => this.open(row.key) } });
        this.rows.set(row.key, btn);
      }
      this.fill(btn, row);
      const li = btn.parentElement ?? h('li', {}, btn);
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] ?? null);
    });
    for (const [key, btn] of this.rows) {
      if (!seen.has(key)) {
        btn.parentElement?.remove();
        this.rows.delete(key);
      }
    }
  }

  /** Update one row's progress without a full render. */
  updateProgress(id: string): void {
    const row = this.current.find((r) => r.localId === id);
    const btn = this.rows.get(id);
    if (row && btn) this.fill(btn, row);
  }

  /** The row's picture: a thumbnail when there is one, else its kind's icon. */
  private thumb(row: Row): HTMLElement {
    let el = this.thumbEls.get(row.key);
    if (!el) {
      el = h('span', { class: `thumb kind-${row.kind}` }, icon(isIcon(row.kind) ? row.kind : 'file'));
      this.thumbEls.set(row.key, el);
    }
    const want = row.item?.state.mediaHeld && row.kind === 'photo' ? `l:${row.item.id}`
      : row.serverId && row.status !== 'rejected' ? `s:${row.serverId}` : '';
    if (want && el.dataset.thumb !== want) {
      el.dataset.thumb = want;
      const target = el;
      const p = want.startsWith('l:') ? this.thumbs.forLocal(want.slice(2)) : this.thumbs.forCapture(want.slice(2));
      void p.then((url) => {
        if (!url || target.dataset.thumb !== want) return;
        clear(target);
        target.append(h('img', { src: url, alt: '', decoding: 'async', 'data-testid': 'thumb' }));
        target.classList.add('has-image');
      });
    }
    return el;
  }

  private fill(btn: HTMLButtonElement, row: Row): void {
    btn.dataset.status = row.status;
    btn.dataset.localId = row.localId ?? '';
    btn.dataset.id = row.serverId ?? '';
    btn.dataset.sha256 = row.sha256 ?? '';
    btn.dataset.kind = row.kind;
    const place = placeName(row.server?.place);
    const user = !!row.server?.title || row.kind === 'import';
    btn.replaceChildren(
      this.thumb(row),
      h('span', { class: 'row-main' },
        h('span', { class: 'row-title', 'data-testid': 'row-title', ...(user ? { translate: 'no' } : {}) }, rowTitle(row)),
        h('span', { class: 'row-meta' },
          place ? h('span', { class: 'row-place', translate: 'no' }, place) : null, place ? ' · ' : null,
          h('span', { class: 'row-time' }, fmtTime(row.time, { utc: false }))),
        this.detailLine(row)),
      h('span', { class: `badge status-${row.status}` }, t(`status.${row.status}` as Key)),
    );
  }

  private detailLine(row: Row): HTMLElement {
    const line = h('span', { class: 'row-detail' });
    const item = row.item;
    const st = item?.state;
    if (row.status === 'rejected' && st?.rejection) {
      line.append(h('span', { class: 'reject-reason', 'data-testid': 'reject-reason' },
        t('problem.withDetail', { message: problemParam(st.rejection), detail: { raw: st.rejection.code } })));
    } else if (row.status === 'uploading' && item?.stream) {
      line.append(t('list.streamProgress', { acked: item.stream.acked, recorded: item.stream.recorded }));
    } else if (row.status === 'uploading' && item) {
      const p = this.progress.get(item.id);
      if (p && p.total) {
        const pct = Math.round((100 * p.sent) / p.total);
        line.append(h('progress', { max: 100, value: pct, 'aria-label': t('list.progress', { percent: pct }) }), ' ', t('list.progress', { percent: pct }));
      }
    } else if (row.status === 'queued' && item) {
      if (!item.manifest && !item.stream?.header) line.append(t('list.waitingNonce'));
      else if (st && st.nextAttemptAt > Date.now()) {
        const time = { time: new Date(st.nextAttemptAt).toISOString(), utc: false };
        line.append(st.lastError ? t('list.retryBecause', { time, reason: problemParam(st.lastError) }) : t('list.retry', { time }));
      }
      if (item.stream) line.append(' ', t('list.streamProgress', { acked: item.stream.acked, recorded: item.stream.recorded }));
    } else if (row.status === 'anchored' && st?.anchor) {
      line.append(t('list.anchoredAt', { time: fmtTime(st.anchor.genTime ?? st.anchor.checkpointAt, { utc: false }) }));
    } else if (item?.size) {
      line.append(fmtBytes(item.size));
    } else if (row.server) {
      line.append(fmtBytes(row.server.media.size));
    }
    return line;
  }

  relabel(): void {
    this.render(this.current);
    this.setLiveElsewhere(this.liveEvents);
  }
}
