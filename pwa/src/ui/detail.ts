// One capture in full: hashes, location, device, server checks and receipt.
import { fmtBytes, fmtNumber, fmtTime, t, tx, type Key } from '../i18n';
import type { CustodyEvent, Receipt, ServerCapture } from '../shared/api';
import { isFix, type Geo } from '../shared/protocol';
import { h, svg, type View } from './dom';
import type { Row } from './list';

export interface DetailData {
  row: Row | null;
  server: ServerCapture | null;
  receipt: Receipt | null;
  checkpointAt: string | null;
  custody?: CustodyEvent[] | null;
  offline: boolean;
}

/** The chain of custody, oldest first: who read the capture, when, from where. */
function custodyList(events: CustodyEvent[]): HTMLElement {
  const ol = h('ol', { class: 'custody', 'data-testid': 'custody' });
  for (const e of events) {
    const who = e.actor.system ? t('custody.system') : (e.actor.email ?? '');
    const what = e.event === 'download' && Array.isArray(e.detail.range)
      ? t('custody.range', { from: String(e.detail.range[0]), to: String(e.detail.range[1]) })
      : e.event === 'derive' ? String(e.detail.variant ?? '') : '';
    ol.append(h('li', { 'data-event': e.event },
      h('strong', {}, t(`custody.${e.event}` as Key)), what ? ` · ${what}` : '', h('br'),
      h('span', { class: 'custody-when' }, fmtTime(e.at)), ' · ', who,
      e.origin.ip ? ` · ${e.origin.ip}` : '', h('br'),
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
  return text ? h('code', { class: 'hash' }, text) : null;
}

/** A marker on a plain longitude/latitude grid: no map tiles, nothing fetched. */
function marker(lat: number, lon: number): SVGElement {
  const x = ((lon + 180) / 360) * 360;
  const y = ((90 - lat) / 180) * 180;
  const grid: SVGElement[] = [];
  for (let gx = 0; gx <= 360; gx += 30) grid.push(svg('line', { x1: gx, y1: 0, x2: gx, y2: 180, class: 'grid' }));
  for (let gy = 0; gy <= 180; gy += 30) grid.push(svg('line', { x1: 0, y1: gy, x2: 360, y2: gy, class: 'grid' }));
  const title = svg('title');
  title.textContent = t('detail.map');
  return svg('svg', { viewBox: '0 0 360 180', class: 'minimap', role: 'img', 'aria-label': t('detail.map') },
    title,
    svg('rect', { x: 0, y: 0, width: 360, height: 180, class: 'sea' }),
    ...grid,
    svg('line', { x1: 0, y1: 90, x2: 360, y2: 90, class: 'equator' }),
    svg('circle', { cx: x, cy: y, r: 6, class: 'pin' }),
    svg('circle', { cx: x, cy: y, r: 14, class: 'pin-ring' }));
}

function geoNode(geo: Geo | null | undefined): Node | null {
  if (!geo) return null;
  if (!isFix(geo)) return document.createTextNode(t(`geo.absent.${geo.absent}` as Key));
  return h('span', { class: 'geo-detail' },
    t('geo.fix', { lat: fmtNumber(geo.lat, 6), lon: fmtNumber(geo.lon, 6), acc: fmtNumber(geo.accuracy) }),
    h('br'), fmtTime(geo.fixed_at),
    marker(geo.lat, geo.lon));
}

export class DetailView implements View {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private last: DetailData | null = null;

  constructor(back: () => void) {
    this.body = h('div', { class: 'detail-body' });
    this.el = h('section', { class: 'view detail', 'data-testid': 'capture-detail', 'aria-labelledby': 'detail-title' },
      tx(h('button', { type: 'button', class: 'btn secondary back', on: { click: back } }), 'detail.back'),
      tx(h('h1', { id: 'detail-title' }), 'detail.title'),
      this.body);
  }

  render(d: DetailData): void {
    this.last = d;
    const { row, server, receipt } = d;
    if (!row && !server) {
      this.body.replaceChildren(tx(h('p', {}), 'detail.notFound'));
      return;
    }
    const item = row?.item ?? null;
    const manifest = (server?.manifest ?? (item?.manifest ? JSON.parse(item.manifest) : null)) as
      | { geo?: Geo; device?: Record<string, unknown>; captured?: { start: string; end: string }; stream?: { id: string; chunks: number } }
      | null;
    const status = row?.status ?? (server?.stream?.partial ? 'interrupted' : server!.status);
    const kind = row?.kind ?? server!.kind;
    const parts: (Node | null)[] = [];
    parts.push(h('p', { class: `badge big status-${status}`, 'data-status': status }, t(`status.${status}` as Key)));
    if (kind === 'import') parts.push(tx(h('p', { class: 'note import-note' }), 'detail.imported'));
    if (item?.state.rejection) {
      parts.push(h('div', { class: 'card error-card', role: 'alert' },
        tx(h('h2', {}), 'detail.rejected'),
        h('p', { 'data-testid': 'reject-reason' }, h('code', {}, item.state.rejection.code), ' ', item.state.rejection.detail)));
    }
    if (item?.state.lastError && (status === 'queued' || status === 'uploading')) {
      parts.push(dl(['detail.lastError', `${item.state.lastError.code}: ${item.state.lastError.detail}`]));
    }
    if (server?.stream?.partial) parts.push(tx(h('p', { class: 'note' }), 'detail.partial'));
    if (item?.stream?.killed) parts.push(tx(h('p', { class: 'note' }), 'detail.killed'));
    const captured = manifest?.captured ? `${fmtTime(manifest.captured.start)} – ${fmtTime(manifest.captured.end)}` : fmtTime(item?.start ?? row?.time);
    parts.push(dl(
      ['detail.kind', t(`mode.${kind}` as Key)],
      ['detail.captured', captured],
      ['detail.received', server ? fmtTime(server.received_at) : null],
      ['detail.localId', mono(row?.localId)],
      ['detail.serverId', mono(server?.id ?? row?.serverId)],
      ['detail.sha256', mono(server?.media.sha256 ?? item?.sha256)],
      ['detail.size', fmtBytes(server?.media.size ?? item?.size ?? item?.stream?.size)],
      ['detail.mime', server?.media.mime ?? item?.mime],
      ['detail.manifestHash', mono(server?.manifest_hash ?? item?.manifestHash)],
      ['detail.signature', mono(server?.signature ?? item?.signature)],
      ['detail.streamId', mono(server?.stream?.id ?? item?.stream?.id)],
      ['detail.chunks', manifest?.stream ? String(manifest.stream.chunks) : item?.stream ? String(item.stream.recorded) : null],
    ));
    parts.push(h('h2', {}, t('detail.location')), h('div', { class: 'geo-box' }, geoNode(manifest?.geo ?? item?.geo ?? item?.stream?.pending.geo) ?? t('detail.none')));
    const dev = (manifest?.device ?? item?.device) as Record<string, unknown> | null | undefined;
    if (dev) {
      parts.push(h('h2', {}, t('detail.device')), dl(
        ['detail.keyId', mono(String(dev.key_id ?? ''))],
        ['detail.device', [dev.platform, dev.app_version, dev.timezone, dev.language].filter(Boolean).join(' · ')],
      ), h('p', { class: 'ua' }, String(dev.user_agent ?? '')));
    }
    if (server?.checks?.length) {
      const ul = h('ul', { class: 'checks' });
      for (const c of server.checks) {
        ul.append(h('li', { class: c.ok ? 'ok' : 'flag' },
          h('span', { class: 'check-mark', 'aria-hidden': 'true' }, c.ok ? '✓' : '!'),
          h('strong', {}, c.name), ' ',
          h('span', { class: 'check-state' }, t(c.ok ? 'detail.checkOk' : 'detail.checkFlag')),
          h('br'), h('span', { class: 'check-detail' }, c.detail)));
      }
      parts.push(h('h2', {}, t('detail.checks')), ul);
    }
    parts.push(h('h2', {}, t('detail.receipt')));
    if (receipt) {
      const stamps = h('ul', { class: 'stamps' });
      for (const s of receipt.timestamps) {
        stamps.append(h('li', {}, t(s.embedded ? 'detail.tsaEmbedded' : 'detail.tsaExternal', { tsa: s.tsa }), h('br'),
          `${t('detail.genTime')}: ${fmtTime(s.gen_time)}`));
      }
      parts.push(dl(
        ['detail.leafIndex', String(receipt.leaf_index)],
        ['detail.treeSize', String(receipt.tree_size)],
        ['detail.checkpointAt', fmtTime(d.checkpointAt ?? item?.state.anchor?.checkpointAt)],
        ['detail.timestamps', stamps],
      ));
    } else {
      parts.push(tx(h('p', {}), 'detail.noReceipt'));
    }
    if (d.custody?.length) parts.push(h('h2', {}, t('custody.title')), custodyList(d.custody));
    const id = server?.id ?? row?.serverId;
    if (id) parts.push(tx(h('a', { class: 'btn primary wide', href: `/verify?capture=${encodeURIComponent(id)}` }), 'detail.verify'));
    if (d.offline) parts.push(tx(h('p', { class: 'note' }), 'detail.offline'));
    this.body.replaceChildren(...parts.filter((p): p is Node => p !== null));
  }

  relabel(): void {
    if (this.last) this.render(this.last);
  }
}
