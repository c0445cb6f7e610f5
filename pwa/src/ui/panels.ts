// Capture panels: photo (camera + shutter), recordings (audio, video,
// screen) and import. Each collects location through the shared tracker.
import { aria, fmtBytes, tx, type Key } from '../i18n';
import { encodeFrame, queueFile, snapshot } from '../app/captures';
import { fallbackKind } from '../app/formats';
import { geo } from '../app/geo';
import { armContext, type RecordingSession } from '../app/recording';
import { clearShared, getItem, peekShared, type OutboxItem, type SharedFile } from '../shared/db';
import type { RecordingContext, StreamKind } from '../shared/protocol';
import { clear, h } from './dom';
import { reasonParam } from './problems';

export interface CaptureActions {
  queued(item: OutboxItem, elapsedMs?: number): void;
  failed(err: unknown): void;
  startRecording(kind: StreamKind, media: MediaStream): Promise<RecordingSession>;
  recordingStopped(): void;
}

export interface Panel {
  readonly el: HTMLElement;
  readonly busy: boolean;
  activate(): Promise<void>;
  deactivate(): void;
  relabel?(): void;
}

function stopStream(s: MediaStream | null): void {
  s?.getTracks().forEach((tr) => tr.stop());
}

export class PhotoPanel implements Panel {
  readonly el: HTMLElement;
  private video: HTMLVideoElement;
  private hint: HTMLElement;
  private shutter: HTMLButtonElement;
  private stream: MediaStream | null = null;
  private opening: Promise<void> | null = null;
  busy = false;

  constructor(private actions: CaptureActions) {
    this.video = aria(h('video', { class: 'preview', playsinline: true, muted: true, autoplay: true }), 'photo.preview');
    this.video.muted = true;
    this.hint = h('p', { class: 'hint', 'aria-live': 'polite' });
    this.shutter = aria(h('button', { type: 'button', class: 'shutter', 'data-testid': 'shutter', on: { click: () => void this.take() } },
      h('span', { class: 'shutter-ring', 'aria-hidden': 'true' })), 'photo.shutter');
    const file = h('input', { type: 'file', accept: 'image/*', capture: 'environment', id: 'photo-fallback', class: 'vh',
      on: { change: () => void this.fromFile(file) } });
    this.el = h('div', { class: 'panel photo' },
      h('div', { class: 'viewfinder' }, this.video, this.hint),
      h('div', { class: 'controls' }, this.shutter),
      h('div', { class: 'fallback' }, file, tx(h('label', { htmlFor: 'photo-fallback', class: 'btn secondary' }), 'photo.fallback')));
  }

  async activate(): Promise<void> {
    if (this.stream || this.opening) return this.opening ?? undefined;
    this.opening = (async () => {
      tx(this.hint, 'photo.starting');
      this.hint.hidden = false;
      try {
        if (!navigator.mediaDevices?.getUserMedia) throw new DOMException('getUserMedia', 'NotSupportedError');
        this.stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: { ideal: 'environment' }, width: { ideal: 4096 }, height: { ideal: 3072 } },
          audio: false,
        });
        this.video.srcObject = this.stream;
        await this.video.play().catch(() => undefined);
        this.hint.hidden = true;
        this.shutter.disabled = false;
      } catch (err) {
        this.shutter.disabled = true;
        tx(this.hint, 'photo.noCamera', { reason: reasonParam(err) });
      } finally {
        this.opening = null;
      }
    })();
    return this.opening;
  }

  deactivate(): void {
    stopStream(this.stream);
    this.stream = null;
    this.video.srcObject = null;
  }

  private async frameReady(): Promise<void> {
    if (this.video.videoWidth) return;
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      this.video.addEventListener('loadeddata', done, { once: true });
      setTimeout(done, 3000);
    });
  }

  private async take(): Promise<void> {
    if (this.busy) return;
    const t0 = performance.now();
    const when = new Date();
    this.busy = true;
    this.shutter.disabled = true;
    try {
      if (this.opening) await this.opening;
      await this.frameReady();
      const canvas = snapshot(this.video); // the frame at the tap
      const fix = await geo.fixOrAbsent(2500);
      const blob = await encodeFrame(canvas, when, fix);
      const item = await queueFile({ kind: 'photo', blob, mime: 'image/jpeg', name: null, start: when, end: new Date(), geo: fix });
      this.actions.queued(item, performance.now() - t0);
    } catch (err) {
      this.actions.failed(err);
    } finally {
      this.busy = false;
      this.shutter.disabled = !this.stream;
    }
  }

  private async fromFile(input: HTMLInputElement): Promise<void> {
    const f = input.files?.[0];
    input.value = '';
    if (!f) return;
    const when = new Date();
    try {
      const kind = fallbackKind(f);
      const fix = await geo.fixOrAbsent(2500);
      const item = await queueFile({ kind, blob: f, mime: f.type || 'image/jpeg', name: kind === 'import' ? f.name : null, start: when, end: new Date(), geo: fix });
      this.actions.queued(item);
    } catch (err) {
      this.actions.failed(err);
    }
  }
}

/** Level meter: RMS of the input, through an AnalyserNode. */
class LevelMeter {
  readonly el: HTMLElement;
  private bar: HTMLElement;
  private ctx: AudioContext | null = null;
  private raf = 0;

  constructor() {
    this.bar = h('div', { class: 'level-bar' });
    this.el = aria(h('div', { class: 'level', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, this.bar), 'rec.level');
  }

  start(stream: MediaStream): void {
    if (!stream.getAudioTracks().length || typeof AudioContext === 'undefined') return;
    this.ctx = new AudioContext();
    void this.ctx.resume();
    const analyser = this.ctx.createAnalyser();
    analyser.fftSize = 1024;
    this.ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Uint8Array(analyser.fftSize);
    let last = -1;
    const tick = () => {
      analyser.getByteTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += ((v - 128) / 128) ** 2;
      const level = Math.min(100, Math.round(Math.sqrt(sum / buf.length) * 300));
      this.bar.style.transform = `scaleX(${level / 100})`;
      if (Math.abs(level - last) >= 5) {
        this.el.setAttribute('aria-valuenow', String(level));
        last = level;
      }
      this.raf = requestAnimationFrame(tick);
    };
    tick();
  }

  stop(): void {
    cancelAnimationFrame(this.raf);
    void this.ctx?.close();
    this.ctx = null;
    this.bar.style.transform = 'scaleX(0)';
    this.el.setAttribute('aria-valuenow', '0');
  }
}

/** What a call or meeting recording adds to a plain one (src/ui/calls.ts). */
export interface RecordOptions {
  /** Asked first, before any device is opened (the lawful-recording notice): false, not now. */
  before?: () => Promise<boolean>;
  /** The stream to record (and the kind it is recorded as); `ended` stops the recording. */
  media?: (ended: () => void) => Promise<{ stream: MediaStream; kind?: StreamKind; release?: () => void }>;
  /** The signed context of the recording about to start. */
  context?: () => RecordingContext | null;
  /** Told when a recording starts and when it is over (a form around it is locked meanwhile). */
  onBusy?: (busy: boolean) => void;
  /** Told once a recording was made and stopped. */
  stopped?: () => void;
}

export class RecordPanel implements Panel {
  readonly el: HTMLElement;
  private video: HTMLVideoElement | null = null;
  private meter = new LevelMeter();
  private timer: HTMLElement;
  private status: HTMLElement;
  private recordBtn: HTMLButtonElement;
  private stopBtn: HTMLButtonElement;
  private preview: MediaStream | null = null;
  private session: RecordingSession | null = null;
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private starting = false;
  private chunks: HTMLElement;
  private release: (() => void) | null = null;

  constructor(private kind: StreamKind, private actions: CaptureActions, private opts: RecordOptions = {}) {
    if (kind !== 'audio') {
      this.video = aria(h('video', { class: 'preview', playsinline: true, muted: true, autoplay: true }), 'rec.preview');
      this.video.muted = true;
    }
    this.timer = aria(h('p', { class: 'timer', role: 'timer' }, '00:00'), 'rec.timer');
    this.status = h('p', { class: 'hint rec-status', 'data-testid': 'rec-status', 'aria-live': 'polite' });
    this.chunks = h('p', { class: 'hint chunks', hidden: true });
    this.recordBtn = tx(h('button', { type: 'button', class: 'btn record', 'data-testid': 'record', on: { click: () => void this.start() } }), 'rec.record');
    this.stopBtn = tx(h('button', { type: 'button', class: 'btn stop', 'data-testid': 'stop', hidden: true, on: { click: () => void this.stop() } }), 'rec.stop');
    this.el = h('div', { class: `panel record record-${kind}` },
      this.video ? h('div', { class: 'viewfinder' }, this.video) : null,
      this.meter.el, this.timer, this.status, this.chunks,
      h('div', { class: 'controls' }, this.recordBtn, this.stopBtn));
    this.showState();
    // Offline, what happens to each second changes: say so while it happens.
    window.addEventListener('online', () => this.showState());
    window.addEventListener('offline', () => this.showState());
  }

  /** The status line for the current state and connection (not while starting or after an error). */
  private showState(): void {
    const key = this.status.dataset.i18n;
    const stateful = !key || ['rec.ready', 'rec.readyOffline', 'rec.screenNote', 'rec.recording', 'rec.recordingOffline'].includes(key);
    if (!stateful) return;
    const online = navigator.onLine;
    if (this.session) tx(this.status, online ? 'rec.recording' : 'rec.recordingOffline');
    else if (this.kind === 'screen') tx(this.status, 'rec.screenNote');
    else tx(this.status, online ? 'rec.ready' : 'rec.readyOffline');
    this.status.dataset.online = String(online);
  }

  get busy(): boolean {
    return !!this.session || this.starting;
  }

  async activate(): Promise<void> {
    if (typeof MediaRecorder === 'undefined') {
      this.recordBtn.disabled = true;
      tx(this.status, 'rec.unsupported');
      return;
    }
    // The video mode shows the camera before recording, like a camera app.
    if (this.kind === 'video' && !this.preview && !this.session) {
      try {
        this.preview = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: { ideal: 'environment' }, width: { ideal: 1920 }, height: { ideal: 1080 } },
          audio: true,
        });
        this.video!.srcObject = this.preview;
        await this.video!.play().catch(() => undefined);
      } catch (err) {
        tx(this.status, 'rec.noAccess', { reason: reasonParam(err) });
      }
    }
  }

  deactivate(): void {
    if (this.session) return; // recording keeps going
    stopStream(this.preview);
    this.preview = null;
    if (this.video) this.video.srcObject = null;
  }

  private async media(): Promise<MediaStream> {
    if (this.kind === 'audio') return navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false }, video: false });
    if (this.kind === 'screen') return navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
    if (this.preview) return this.preview;
    return navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: true });
  }

  private async start(): Promise<void> {
    if (this.busy) return;
    this.starting = true;
    this.recordBtn.disabled = true;
    this.opts.onBusy?.(true);
    let media: MediaStream | null = null;
    try {
      if (this.opts.before && !(await this.opts.before())) {
        this.recordBtn.disabled = false;
        this.opts.onBusy?.(false);
        return;
      }
      tx(this.status, 'rec.starting');
      let kind = this.kind;
      if (this.opts.media) {
        const got = await this.opts.media(() => void this.stop());
        media = got.stream;
        kind = got.kind ?? kind;
        this.release = got.release ?? null;
      } else {
        media = await this.media();
      }
      this.preview = null; // owned by the recording now
      if (this.video) {
        this.video.srcObject = media;
        void this.video.play().catch(() => undefined);
      }
      armContext(this.opts.context?.() ?? null);
      try {
        this.session = await this.actions.startRecording(kind, media);
      } finally {
        armContext(null);
      }
      this.meter.start(media);
      this.recordBtn.hidden = true;
      this.stopBtn.hidden = false;
      this.stopBtn.disabled = false;
      tx(this.status, navigator.onLine ? 'rec.recording' : 'rec.recordingOffline');
      const t0 = Date.now();
      let last = -1;
      this.chunks.hidden = false;
      this.tickTimer = setInterval(() => {
        const s = Math.floor((Date.now() - t0) / 1000);
        this.timer.textContent = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
        if (this.session && !this.session.recording) void this.stop(); // the track ended (screen share stopped)
        if (s !== last && this.session) {
          last = s;
          void getItem(this.session.id).then((it) => {
            if (it?.stream && this.session) tx(this.chunks, 'rec.chunks', { n: it.stream.recorded, acked: it.stream.acked });
          });
        }
      }, 250);
      this.stopBtn.focus();
    } catch (err) {
      if (this.opts.media) {
        // what was opened for this recording is closed again
        if (this.release) this.release();
        else media?.getTracks().forEach((tr) => tr.stop());
        this.release = null;
      }
      // A panel's own explanation (e.g. no sound was shared) is shown as it is.
      if (err instanceof StartRefused) tx(this.status, err.key);
      else tx(this.status, 'rec.noAccess', { reason: reasonParam(err) });
      this.recordBtn.disabled = false;
      this.opts.onBusy?.(false);
    } finally {
      this.starting = false;
    }
  }

  private async stop(): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.stopBtn.disabled = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.meter.stop();
    try {
      await s.stop();
    } finally {
      this.release?.();
      this.release = null;
      this.session = null;
      if (this.video) this.video.srcObject = null;
      this.recordBtn.hidden = false;
      this.recordBtn.disabled = false;
      this.stopBtn.hidden = true;
      this.timer.textContent = '00:00';
      this.chunks.hidden = true;
      delete this.status.dataset.i18n;
      this.showState();
      this.opts.onBusy?.(false);
      this.opts.stopped?.();
      this.actions.recordingStopped();
    }
  }

}

/** A recording that a panel refuses to start, with its own message (a table key). */
export class StartRefused extends Error {
  constructor(readonly key: Key) {
    super(key);
    this.name = 'StartRefused';
  }
}

/** What the import screen does with a shared audio file the person says is a call recording. */
export type CallImport = (file: File) => void;

export class ImportPanel implements Panel {
  readonly el: HTMLElement;
  busy = false;
  private sharedBox: HTMLElement;

  constructor(private actions: CaptureActions, private toCall?: CallImport) {
    const input = h('input', { type: 'file', id: 'import-input', 'data-testid': 'import-input', class: 'vh', on: { change: () => void this.pick(input) } });
    this.sharedBox = h('section', { class: 'card shared-files', 'data-testid': 'shared-files', 'aria-live': 'polite', hidden: true });
    this.el = h('div', { class: 'panel import' },
      tx(h('h2', {}), 'import.title'),
      this.sharedBox,
      tx(h('p', { class: 'note import-note' }), 'import.note'),
      input,
      tx(h('label', { htmlFor: 'import-input', class: 'btn primary wide' }), 'import.choose'));
  }

  /** Files shared into the app from another one (the service worker kept them): shown, ready to import. */
  async activate(): Promise<void> {
    let shared = null;
    try {
      shared = await peekShared();
    } catch {
      /* nothing to show */
    }
    this.renderShared(shared?.files ?? []);
  }

  deactivate(): void {}

  private renderShared(files: SharedFile[]): void {
    const box = this.sharedBox;
    clear(box);
    box.hidden = !files.length;
    if (!files.length) return;
    const list = h('ul', { class: 'plain-list shared-list' });
    for (const f of files) {
      list.append(h('li', { 'data-testid': 'shared-file' }, h('strong', { translate: 'no' }, f.name), ' ',
        h('span', { class: 'hint-text' }, fmtBytes(f.blob.size))));
    }
    const buttons = h('div', { class: 'button-row' },
      tx(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'shared-import', on: { click: () => void this.importShared(files) } }),
        files.length > 1 ? 'shared.importAll' : 'shared.import'),
      tx(h('button', { type: 'button', class: 'btn', 'data-testid': 'shared-discard', on: { click: () => void this.discardShared() } }), 'shared.discard'));
    box.append(tx(h('h3', {}), 'shared.title', { n: files.length }), list);
    const audio = files.find((f) => (f.type || '').startsWith('audio/'));
    if (audio && this.toCall) {
      box.append(h('div', { class: 'shared-call' },
        tx(h('p', { class: 'shared-call-ask' }), 'shared.isCall'),
        tx(h('button', { type: 'button', class: 'btn', 'data-testid': 'shared-call', on: { click: () => void this.sharedToCall(audio) } }), 'shared.callYes')));
    }
    box.append(buttons);
  }

  private async sharedToCall(f: SharedFile): Promise<void> {
    const file = new File([f.blob], f.name, { type: f.type, lastModified: f.lastModified });
    await clearShared().catch(() => undefined);
    this.renderShared([]);
    this.toCall?.(file);
  }

  private async discardShared(): Promise<void> {
    await clearShared().catch(() => undefined);
    this.renderShared([]);
  }

  private async importShared(files: SharedFile[]): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      let last: OutboxItem | null = null;
      for (const f of files) last = await this.queue(f.blob, f.type, f.name);
      await clearShared();
      this.renderShared([]);
      if (last) this.actions.queued(last);
    } catch (err) {
      this.actions.failed(err);
    } finally {
      this.busy = false;
    }
  }

  private async queue(blob: Blob, type: string, name: string): Promise<OutboxItem> {
    const when = new Date();
    const fix = await geo.fixOrAbsent(2500);
    return queueFile({
      kind: 'import',
      blob,
      mime: type || 'application/octet-stream',
      name,
      start: when,
      end: new Date(),
      geo: fix,
    });
  }

  private async pick(input: HTMLInputElement): Promise<void> {
    const f = input.files?.[0];
    input.value = '';
    if (!f) return;
    try {
      this.actions.queued(await this.queue(f, f.type, f.name));
    } catch (err) {
      this.actions.failed(err);
    }
  }
}
