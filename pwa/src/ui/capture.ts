// The capture screen: a mode switch and one panel per mode.
import { aria, fmtNumber, t, tx, type Key } from '../i18n';
import { geo } from '../app/geo';
import { isFix, type StreamKind } from '../shared/protocol';
import { clear, h, type View } from './dom';
import { icon } from './icons';
import { CallPanel, MeetingPanel, modeIcon } from './calls';
import { ImportPanel, PhotoPanel, RecordPanel, type CaptureActions, type Panel } from './panels';
import { WebPanel, type WebCtx } from './web';

export type Mode = 'photo' | 'audio' | 'video' | 'screen' | 'call' | 'meeting' | 'import' | 'web';

export function screenSupported(): boolean {
  return typeof navigator !== 'undefined' && !!navigator.mediaDevices && 'getDisplayMedia' in navigator.mediaDevices;
}

export class CaptureView implements View {
  readonly el: HTMLElement;
  private modeBar: HTMLElement;
  private panelHost: HTMLElement;
  private geoLine: HTMLElement;
  private buttons = new Map<Mode, HTMLButtonElement>();
  private panels = new Map<Mode, Panel>();
  private mode: Mode = 'photo';
  private visible = false;
  private stopGeo: (() => void) | null = null;

  constructor(private actions: CaptureActions, private web: WebCtx) {
    const modes: Mode[] = ['photo', 'audio', 'video', ...(screenSupported() ? (['screen'] as Mode[]) : []), 'call', 'meeting', 'import', 'web'];
    // more modes than fit in one row on a phone: two rows (src/calls.css)
    this.modeBar = aria(h('div', { class: `modes${modes.length > 6 ? ' modes-many' : ''}`, role: 'group' }), 'capture.modes');
    for (const m of modes) {
      const b = h('button', { type: 'button', class: `mode mode-${m}`, 'data-testid': `mode-${m}`, 'aria-pressed': 'false', on: { click: () => this.select(m) } },
        m === 'call' || m === 'meeting' ? modeIcon(m) : icon(m, undefined, 'mode-icon'), tx(h('span', { class: 'mode-text' }), `mode.${m}` as Key));
      this.buttons.set(m, b);
      this.modeBar.append(b);
    }
    this.panelHost = h('div', { class: 'panel-host' });
    this.geoLine = h('p', { class: 'geo', 'aria-live': 'polite' });
    this.el = h('section', { class: 'view capture', 'aria-labelledby': 'capture-title' },
      tx(h('h1', { id: 'capture-title', class: 'vh' }), 'capture.title'),
      this.modeBar, this.panelHost, this.geoLine);
  }

  private panel(m: Mode): Panel {
    let p = this.panels.get(m);
    if (!p) {
      p = m === 'photo' ? new PhotoPanel(this.actions)
        : m === 'import' ? new ImportPanel(this.actions, (file) => this.callImport(file))
        : m === 'call' ? new CallPanel(this.actions)
        : m === 'meeting' ? new MeetingPanel(this.actions)
        : m === 'web' ? new WebPanel(this.web) : new RecordPanel(m as StreamKind, this.actions);
      this.panels.set(m, p);
    }
    return p;
  }

  /** A shared audio file the person says is a call recording: the call import form, filled in. */
  private callImport(file: File): void {
    this.select('call');
    (this.panel('call') as CallPanel).offerFile(file);
  }

  /** Switching is refused while a recording runs: stop it first. */
  select(m: Mode): void {
    const current = this.panels.get(this.mode);
    if (current?.busy && m !== this.mode) return;
    if (m !== this.mode) current?.deactivate();
    this.mode = m;
    this.geoLine.hidden = m === 'web'; // the server records a web page: no place to show
    for (const [name, b] of this.buttons) b.setAttribute('aria-pressed', String(name === m));
    clear(this.panelHost);
    const p = this.panel(m);
    this.panelHost.append(p.el);
    if (this.visible) void p.activate();
  }

  show(arg?: string): void {
    this.visible = true;
    geo.start();
    this.stopGeo ??= geo.onChange(() => this.renderGeo());
    this.renderGeo();
    const m = arg && this.buttons.has(arg as Mode) ? (arg as Mode) : this.mode;
    this.select(m);
  }

  hide(): void {
    this.visible = false;
    const p = this.panels.get(this.mode);
    if (!p?.busy) {
      p?.deactivate();
      geo.stop();
    }
  }

  private renderGeo(): void {
    const g = geo.latest;
    if (isFix(g)) {
      tx(this.geoLine, 'geo.fix', { lat: fmtNumber(g.lat, 5), lon: fmtNumber(g.lon, 5), acc: fmtNumber(g.accuracy) });
    } else if (geo.absent) {
      tx(this.geoLine, `geo.absent.${geo.absent}` as Key);
    } else {
      tx(this.geoLine, 'geo.waiting');
    }
    this.geoLine.prepend(h('span', { class: 'geo-label' }, t('geo.label') + ' · '));
  }

  relabel(): void {
    this.renderGeo();
    this.panels.forEach((p) => p.relabel?.());
  }

  get kind(): Mode {
    return this.mode;
  }
}
