// Wires the views to the session, the outbox and the network.
import { fmtBytes, initLang, onLang, relabel, t } from '../i18n';
import { loadHints } from '../app/meta';
import { RecordingSession } from '../app/recording';
import { recoverOutbox, Sender } from '../app/sender';
import { session } from '../app/session';
import { debugFlags } from '../app/signer';
import { streamClient, type ProgressEvent } from '../app/socket';
import { anchorTimes, Tracker } from '../app/tracker';
import { ApiError, apiFetch, type CustodyEvent, type Receipt, type ServerCapture } from '../shared/api';
import { allItems, countNonces, onChanged, openDb, type OutboxItem } from '../shared/db';
import { isUnsent } from '../shared/outbox';
import type { StreamKind } from '../shared/protocol';
import { CaptureView } from './capture';
import { DetailView } from './detail';
import { DeviceView } from './device';
import type { View } from './dom';
import { ListView, rowsFrom, type Row } from './list';
import { LoginView } from './login';
import type { CaptureActions } from './panels';
import { Shell, type Route } from './shell';
import { VerifyView } from './verify';

declare global {
  interface Window {
    fieldproofReady?: boolean;
    fieldproofDebug?: {
      forgeNextSignature(): void;
      outbox(): Promise<OutboxItem[]>;
      drain(): Promise<void>;
      lastShutterMs: number;
    };
  }
}

export class Controller {
  private shell!: Shell;
  private login!: LoginView;
  private capture!: CaptureView;
  private list!: ListView;
  private detail!: DetailView;
  private device!: DeviceView;
  private verify!: VerifyView;
  private current: View | null = null;
  private readonly sender = new Sender();
  private readonly tracker = new Tracker();
  private server: ServerCapture[] = [];
  private rows: Row[] = [];
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private serverPoll: ReturnType<typeof setTimeout> | null = null;
  private detailKey: string | null = null;
  private storageText = '';
  private remote = new Map<string, { event: ProgressEvent; at: number }>();

  async boot(): Promise<void> {
    initLang();
    await openDb();
    await session.restore();
    this.build();
    document.body.replaceChildren(this.shell.el);
    this.installDebug();
    await this.registerServiceWorker();
    await recoverOutbox();
    this.wire();
    if (location.pathname.startsWith('/verify')) {
      this.shell.setSignedIn(session.signedIn);
      this.swap(this.verify);
      const params = new URLSearchParams(location.search);
      void this.verify.check(params.get('capture'), session.token);
      void this.verify.lookupLink(params.get('sha256'));
    } else if (session.signedIn) {
      this.shell.setSignedIn(true);
      this.route();
      void this.afterSignIn();
    } else {
      await this.showLogin();
    }
    window.fieldproofReady = true;
  }

  private build(): void {
    this.shell = new Shell((r) => this.navigate(r));
    this.login = new LoginView((email, password) => this.doLogin(email, password));
    const actions: CaptureActions = {
      queued: (item, ms) => this.queued(item, ms),
      failed: (err) => this.shell.toast(t('capture.failed', { detail: err instanceof Error ? err.message : String(err) })),
      startRecording: (kind, media) => this.startRecording(kind, media),
      recordingStopped: () => this.navigate('list'),
    };
    this.capture = new CaptureView(actions);
    this.list = new ListView((key) => (location.hash = `#/list/${encodeURIComponent(key)}`), this.sender.progress);
    this.detail = new DetailView(() => history.length > 1 ? history.back() : this.navigate('list'));
    this.device = new DeviceView({
      rekey: async () => {
        await session.rekey();
        this.shell.toast(t('device.rekeyDone'));
        await this.renderDevice();
      },
      logout: () => this.doLogout(),
    });
    this.verify = new VerifyView();
  }

  private wire(): void {
    window.addEventListener('online', () => {
      this.updateNet();
      void this.renewToken();
      void this.sender.online();
      this.tracker.poke();
    });
    window.addEventListener('offline', () => this.updateNet());
    window.addEventListener('hashchange', () => this.route());
    onChanged(() => {
      this.scheduleRefresh();
      void this.tracker.ensure();
    });
    onLang(() => {
      relabel(document.body);
      this.shell.relabel();
      this.current?.relabel?.();
      this.scheduleRefresh();
    });
    this.sender.progressHandlers.add((id) => this.list.updateProgress(id));
    streamClient.connectHandlers.add(() => {
      this.updateNet();
      void this.sender.online();
    });
    streamClient.disconnectHandlers.add(() => {
      this.updateNet();
      void this.sender.disconnected();
    });
    streamClient.progressHandlers.add((e) => void this.progressEvent(e));
    streamClient.captureHandlers.add((e) => {
      this.remote.delete(e.stream_id);
      this.list.setLiveElsewhere([...this.remote.values()].map((r) => r.event));
      this.tracker.poke();
      void this.fetchServer();
    });
    streamClient.refusedHandlers.add(() => void session.expired());
    navigator.serviceWorker?.addEventListener('message', (e: MessageEvent) => {
      if ((e.data as { type?: string } | null)?.type === 'fieldproof:drain') void this.sender.drain();
    });
    session.onChange(() => {
      if (!session.signedIn && !location.pathname.startsWith('/verify')) void this.showLogin();
      if (this.current === this.device) void this.renderDevice();
    });
  }

  private async registerServiceWorker(): Promise<void> {
    if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
    try {
      await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    } catch (err) {
      console.warn('service worker', err);
    }
  }

  private installDebug(): void {
    let on = false;
    try {
      on = localStorage.getItem('fieldproof.debug') === '1';
    } catch {
      /* storage blocked */
    }
    if (!on) return;
    window.fieldproofDebug = {
      forgeNextSignature: () => {
        debugFlags.forgeNext = true;
      },
      outbox: () => allItems(),
      drain: () => this.sender.drain(),
      lastShutterMs: 0,
    };
  }

  // -- session -------------------------------------------------------------------

  private async showLogin(): Promise<void> {
    this.shell.setSignedIn(false);
    this.shell.setActive(null);
    streamClient.disconnect();
    this.tracker.stop();
    this.login.setPending((await allItems()).filter((i) => isUnsent(i.state)).length);
    this.swap(this.login);
    this.login.focus();
  }

  private async doLogin(email: string, password: string): Promise<void> {
    await session.login(email, password);
    this.shell.setSignedIn(true);
    await session.ensureKey();
    if (location.hash.startsWith('#/')) this.route();
    else this.navigate('capture');
    void this.afterSignIn();
  }

  private async doLogout(): Promise<void> {
    streamClient.disconnect();
    this.tracker.stop();
    await session.logout();
  }

  /** A renewed token also reopens the socket (open recordings resume on it). */
  private async renewToken(): Promise<void> {
    const token = await session.renewIfDue();
    if (token) streamClient.connect(token);
  }

  private async afterSignIn(): Promise<void> {
    await session.renewIfDue();
    const token = session.token;
    if (!token) return;
    streamClient.connect(token);
    void loadHints();
    try {
      await session.ensureKey();
      await session.enroll();
    } catch {
      /* offline or refused: shown on the device screen, retried before sending */
    }
    await session.refillNonces();
    void this.sender.drain();
    this.tracker.poke();
    void this.persistStorage();
  }

  private async startRecording(kind: StreamKind, media: MediaStream): Promise<RecordingSession> {
    const key = await session.ensureKey();
    return RecordingSession.begin(kind, media, key.keyId, {
      nonce: () => session.nonce(),
      kick: (id) => this.sender.pump.kick(id),
    });
  }

  private queued(item: OutboxItem, elapsedMs?: number): void {
    if (elapsedMs !== undefined && window.fieldproofDebug) window.fieldproofDebug.lastShutterMs = elapsedMs;
    this.shell.toast(t('capture.saved'));
    this.navigate('list');
    void this.sender.drain();
    if (!navigator.onLine || !item.manifest) void this.sender.registerSync();
  }

  // -- routing ---------------------------------------------------------------------

  navigate(r: Route): void {
    // The verification page is outside the app's hash routes: leave it for the app.
    if (location.pathname.startsWith('/verify')) return void location.assign(`/#/${r}`);
    const hash = `#/${r}`;
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  private route(): void {
    if (!session.signedIn || location.pathname.startsWith('/verify')) return;
    const [, name = 'capture', arg] = location.hash.split('/');
    const decoded = arg ? decodeURIComponent(arg) : undefined;
    if (name === 'list' && decoded) {
      this.shell.setActive('list');
      this.detailKey = decoded;
      this.swap(this.detail);
      void this.renderDetail(decoded);
    } else if (name === 'list') {
      this.shell.setActive('list');
      this.detailKey = null;
      this.swap(this.list);
      void this.refresh();
      void this.fetchServer();
      void this.updateStorage();
    } else if (name === 'device') {
      this.shell.setActive('device');
      this.swap(this.device);
      void this.renderDevice();
    } else {
      this.shell.setActive('capture');
      this.swap(this.capture, decoded);
    }
  }

  private swap(view: View, arg?: string): void {
    if (this.current !== view) {
      this.current?.hide?.();
      this.shell.main.replaceChildren(view.el);
      this.current = view;
      this.shell.main.focus({ preventScroll: true });
    }
    void view.show?.(arg);
  }

  // -- data ------------------------------------------------------------------------

  private updateNet(): void {
    this.shell.setNet(navigator.onLine, streamClient.connected);
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refresh();
    }, 60);
  }

  private async refresh(): Promise<void> {
    this.rows = rowsFrom(await allItems(), this.server);
    if (this.current === this.list) this.list.render(this.rows);
    if (this.current === this.detail && this.detailKey) void this.renderDetail(this.detailKey, false);
  }

  private async fetchServer(): Promise<void> {
    if (this.serverPoll) clearTimeout(this.serverPoll);
    this.serverPoll = null;
    if (!session.token) return;
    try {
      const res = await apiFetch<{ items: ServerCapture[] }>('/captures?limit=50', { token: session.token });
      this.server = res.items;
      await this.refresh();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) await session.expired();
    }
    // Captures made elsewhere are followed here until anchored, while the list is open.
    if (this.current === this.list && this.rows.some((r) => !r.localId && r.status === 'stored')) {
      this.serverPoll = setTimeout(() => void this.fetchServer(), 5000);
    }
  }

  /** A chunk was made durable: ours updates through the outbox; others show as live elsewhere. */
  private async progressEvent(e: ProgressEvent): Promise<void> {
    const ours = (await allItems()).some((i) => i.stream?.id === e.stream_id);
    if (ours) return;
    this.remote.set(e.stream_id, { event: e, at: Date.now() });
    for (const [id, r] of this.remote) if (Date.now() - r.at > 30_000) this.remote.delete(id);
    this.list.setLiveElsewhere([...this.remote.values()].map((r) => r.event));
  }

  private async renderDetail(key: string, fetch = true): Promise<void> {
    const row = this.rows.find((r) => r.key === key) ?? rowsFrom(await allItems(), this.server).find((r) => r.key === key) ?? null;
    const id = row?.serverId ?? (key.startsWith('s:') ? key.slice(2) : null);
    let server = row?.server ?? null;
    let receipt: Receipt | null = null;
    let checkpointAt: string | null = null;
    let custody: CustodyEvent[] | null = null;
    let offline = false;
    this.detail.render({ row, server, receipt, checkpointAt, offline: false });
    if (!fetch || !id || !session.token) return;
    try {
      server = await apiFetch<ServerCapture>(`/captures/${id}`, { token: session.token });
      if (server.status === 'anchored') {
        receipt = await apiFetch<Receipt>(`/captures/${id}/receipt`, { token: session.token });
        checkpointAt = (await anchorTimes(receipt)).checkpointAt;
      }
      custody = (await apiFetch<{ events: CustodyEvent[] }>(`/captures/${id}/custody`, { token: session.token })).events;
    } catch (err) {
      offline = err instanceof ApiError && err.status === 0;
    }
    if (this.detailKey === key) this.detail.render({ row, server, receipt, checkpointAt, custody, offline });
  }

  private async renderDevice(): Promise<void> {
    await this.updateStorage();
    this.device.render({
      key: session.key,
      email: session.email,
      enrollError: session.enrollError ? `${session.enrollError.code}: ${session.enrollError.detail}` : null,
      nonces: await countNonces(),
      storage: this.storageText,
    });
  }

  private async persistStorage(): Promise<void> {
    try {
      if (navigator.storage?.persisted && !(await navigator.storage.persisted())) await navigator.storage.persist();
    } catch {
      /* not granted: shown in the storage line */
    }
    await this.updateStorage();
  }

  private async updateStorage(): Promise<void> {
    let est: StorageEstimate | null = null;
    let persisted: boolean | null = null;
    try {
      est = (await navigator.storage?.estimate?.()) ?? null;
      persisted = (await navigator.storage?.persisted?.()) ?? null;
    } catch {
      /* unknown */
    }
    this.list.setStorage(est, persisted);
    this.storageText = est?.usage !== undefined && est.quota !== undefined
      ? t('list.storage', { used: fmtBytes(est.usage), quota: fmtBytes(est.quota) })
      : t('list.storageUnknown');
  }
}
