// The captures list: what is on the device (the outbox) merged with what the
// server has, each row with its live status.
import { fmtBytes, fmtTime, t, tx, type Key } from '../i18n';
import type { ServerCapture } from '../shared/api';
import type { OutboxItem } from '../shared/db';
import type { Status } from '../shared/outbox';
import type { ProgressEvent } from '../app/socket';
import { h, type View } from './dom';

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

export class ListView implements View {
  readonly el: HTMLElement;
  private storage: HTMLElement;
  private list: HTMLElement;
  private empty: HTMLElement;
  private rows = new Map<string, HTMLButtonElement>();
  private current: Row[] = [];
  private live: HTMLElement;
  private liveEvents: ProgressEvent[] = [];

  constructor(private open: (key: string) => void, private progress: ListProgress) {
    this.storage = h('p', { class: 'storage', 'data-testid': 'storage' });
    this.list = h('ul', { class: 'captures', role: 'list' });
    this.empty = tx(h('p', { class: 'empty' }), 'list.empty');
    this.live = h('ul', { class: 'live-elsewhere', 'aria-live': 'polite' });
    this.el = h('section', { class: 'view list', 'aria-labelledby': 'list-title' },
      tx(h('h1', { id: 'list-title' }), 'list.title'), this.storage, this.live, this.empty, this.list);
  }

  /** Recordings streaming right now from another session of this account (Socket.IO 'progress'). */
  setLiveElsewhere(events: ProgressEvent[]): void {
    this.liveEvents = events;
    this.live.replaceChildren(...events.map((e) =>
      h('li', { class: 'live-row', 'data-testid': 'live-elsewhere', 'data-stream': e.stream_id },
        t('list.liveElsewhere', { kind: t(`mode.${e.kind}` as Key), seconds: Math.round(e.seconds), chunks: e.chunks }))));
  }

  setStorage(est: { usage?: number; quota?: number } | null, persisted: boolean | null): void {
    if (!est || est.usage === undefined || est.quota === undefined) {
      tx(this.storage, 'list.storageUnknown');
      return;
    }
    tx(this.storage, 'list.storage', { used: fmtBytes(est.usage), quota: fmtBytes(est.quota) });
    this.storage.append(' ', t(persisted ? 'list.persisted' : 'list.notPersisted'));
    this.storage.dataset.usage = String(est.usage);
    this.storage.dataset.quota = String(est.quota);
  }

  render(rows: Row[]): void {
    this.current = rows;
    this.empty.hidden = rows.length > 0;
    const seen = new Set<string>();
    rows.forEach((row, i) => {
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

  private fill(btn: HTMLButtonElement, row: Row): void {
    btn.dataset.status = row.status;
    btn.dataset.localId = row.localId ?? '';
    btn.dataset.id = row.serverId ?? '';
    btn.dataset.sha256 = row.sha256 ?? '';
    btn.dataset.kind = row.kind;
    btn.replaceChildren(
      h('span', { class: `kind-icon kind-${row.kind}`, 'aria-hidden': 'true' }),
      h('span', { class: 'row-main' },
        h('span', { class: 'row-title' }, t(`mode.${row.kind}` as Key), h('span', { class: 'row-time' }, fmtTime(row.time))),
        this.detailLine(row)),
      h('span', { class: `badge status-${row.status}` }, t(`status.${row.status}` as Key)),
    );
  }

  private detailLine(row: Row): HTMLElement {
    const line = h('span', { class: 'row-detail' });
    const item = row.item;
    const st = item?.state;
    if (row.status === 'rejected' && st?.rejection) {
      line.append(h('span', { class: 'reject-reason', 'data-testid': 'reject-reason' }, `${st.rejection.code}: ${st.rejection.detail}`));
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
        line.append(t('list.retry', { time: fmtTime(new Date(st.nextAttemptAt).toISOString()) }));
        if (st.lastError) line.append(` (${st.lastError.code})`);
      }
      if (item.stream) line.append(' ', t('list.streamProgress', { acked: item.stream.acked, recorded: item.stream.recorded }));
    } else if (row.status === 'anchored' && st?.anchor) {
      line.append(t('list.anchoredAt', { time: fmtTime(st.anchor.genTime ?? st.anchor.checkpointAt) }));
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
