// Wires the views to the session, the outbox and the network.
//
// The capture screen, the list and sign-in are in the first chunk; every other
// screen (capture detail, cases, device and account, sign-up and reset, the
// share page, /verify) is loaded on first use. The service worker precaches
// every chunk, so they open offline too.
import { copyText, Thumbnails } from '../app/files';
import { fmtBytes, initLang, lang, onLang, relabel, t, type Key, type Params } from '../i18n';
import { logWatch } from '../app/logwatch';
import { loadHints } from '../app/meta';
import { RecordingSession } from '../app/recording';
import { recoverOutbox, Sender } from '../app/sender';
import { session } from '../app/session';
import { debugFlags } from '../app/signer';
import { streamClient, type ProgressEvent } from '../app/socket';
import { anchorTimes, Tracker } from '../app/tracker';
import { ApiError, apiFetch, type CaseSummary, type CustodyEvent, type Receipt, type ServerCapture } from '../shared/api';
import { allItems, countNonces, kvDelete, kvGet, kvSet, onChanged, openDb, type OutboxItem } from '../shared/db';
import { isUnsent } from '../shared/outbox';
import type { StreamKind } from '../shared/protocol';
import type { SignupView, ResetView } from './account';
import { CaptureView } from './capture';
import { offerSharedUrl, sharedUrl } from './web';
import type { CasesView, CaseView } from './cases';
import type { AppCtx } from './ctx';
import type { DetailView } from './detail';
import type { DeviceView } from './device';
import type { View } from './dom';
import { filtersActive, ListView, NO_FILTERS, rowsFrom, serverQuery, type Filters, type Row } from './list';
import { LoginView } from './login';
import type { CaptureActions } from './panels';
import { errorText, notAvailable, problemParam } from './problems';
import type { SharePage } from './sharepage';
import { Shell, type Route } from './shell';
import type { VerifyView } from './verify';

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

/** The server's part of the list, kept for offline display (per account). */
const SERVER_CACHE = 'server-captures';
interface ServerCache {
  email: string | null;
  at: string;
  items: ServerCapture[];
}

/** A view made on first use: its code is a separate chunk (precached, so offline too). */
class Lazy<T extends View> {
  value: T | null = null;
  private loading: Promise<T> | null = null;
  constructor(private make: () => Promise<T>) {}
  get(): Promise<T> {
    this.loading ??= this.make().then((v) => (this.value = v), (err) => {
      this.loading = null; // a failed load (offline, before the chunk was cached) is tried again
      throw err;
    });
    return this.loading;
  }
}

/** "#/name/arg?query" */
function parseHash(hash: string): { name: string; arg?: string; query: string } {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const [, name = 'capture', arg] = path.split('/');
  return { name: name || 'capture', arg: arg ? decodeURIComponent(arg) : undefined, query };
}

export class Controller {
  private shell!: Shell;
  private login!: LoginView;
  private capture!: CaptureView;
  private list!: ListView;
  private detail!: Lazy<DetailView>;
  private device!: Lazy<DeviceView>;
  private verify!: Lazy<VerifyView>;
  private cases!: Lazy<CasesView>;
  private caseView!: Lazy<CaseView>;
  private share!: Lazy<SharePage>;
  private signup!: Lazy<SignupView>;
  private reset!: Lazy<ResetView>;
  private current: View | null = null;
  private readonly sender = new Sender();
  private readonly tracker = new Tracker();
  private readonly thumbs = new Thumbnails(() => session.token);
  private server: ServerCapture[] = []; // the last unfiltered list the server gave
  private filtered: ServerCapture[] | null = null; // the server's answer to the current filters
  private filters: Filters = { ...NO_FILTERS };
  private serverAt: string | null = null; // when this.server came from the device's cache
  private serverUnreachable = false;
  private casesKnown: CaseSummary[] | null | undefined; // undefined: not asked yet; null: no cases here
  private swapSeq = 0;
  private rows: Row[] = [];
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private serverPoll: ReturnType<typeof setTimeout> | null = null;
  private detailKey: string | null = null;
  private savedToast: { id: number; item: string } | null = null;
  private storageText: { key: Key; params?: Params } = { key: 'list.storageUnknown' };
  private remote = new Map<string, { event: ProgressEvent; at: number }>();

  async boot(): Promise<void> {
    await initLang();
    await openDb();
    await session.restore();
    await this.loadServerCache();
    this.build();
    document.body.replaceChildren(this.shell.el);
    this.installDebug();
    await this.registerServiceWorker();
    await recoverOutbox();
    this.wire();
    this.takeShare();
    void this.showFork();
    void logWatch.check(); // public: whoever opens the app witnesses the log
    if (this.publicPage()) {
      await this.routePublic();
    } else if (session.signedIn) {
      this.shell.setSignedIn(true);
      this.route();
      void this.afterSignIn();
    } else {
      this.route();
    }
    window.fieldproofReady = true;
  }

  /** A link shared into the installed app (Web Share Target, manifest `share_target`):
   * open the web capture form with it filled in. */
  private takeShare(): void {
    const url = sharedUrl(new URLSearchParams(location.search));
    if (!url) return;
    offerSharedUrl(url);
    history.replaceState(null, '', '/#/capture/web');
  }

  /** Pages outside the app's hash routes, open to anyone: /verify and share links. */
  private publicPage(): 'verify' | 'share' | null {
    if (location.pathname.startsWith('/verify')) return 'verify';
    if (/^\/s\/[^/]+\/?$/.test(location.pathname)) return 'share';
    return null;
  }

  private async routePublic(): Promise<void> {
    if (this.publicPage() === 'verify') {
      this.shell.setSignedIn(session.signedIn);
      const verify = await this.verify.get();
      this.swap(verify);
      const params = new URLSearchParams(location.search);
      void verify.check(params.get('capture'), session.token);
      void verify.lookupLink(params.get('sha256'));
    } else {
      // Someone sent a link: no navigation, no sign-in prompt.
      this.shell.setSignedIn(false);
      const page = await this.share.get();
      this.swap(page);
      await page.open(decodeURIComponent(location.pathname.split('/')[2] ?? ''));
    }
  }

  private ctx(): AppCtx {
    return {
      token: () => session.token,
      toast: (text) => this.shell.toast(text),
      navigate: (hash) => {
        if (location.hash === hash) this.route();
        else location.hash = hash;
      },
      expired: () => void session.expired(),
      captures: () => this.server,
      updated: (c) => this.updated(c),
      thumbs: this.thumbs,
    };
  }

  private build(): void {
    this.shell = new Shell((r) => this.navigate(r));
    this.login = new LoginView((email, password) => this.doLogin(email, password));
    const actions: CaptureActions = {
      queued: (item, ms) => this.queued(item, ms),
      failed: (err) => this.shell.toast(t('capture.failed', { detail: errorText(err) })),
      startRecording: (kind, media) => this.startRecording(kind, media),
      recordingStopped: () => this.navigate('list'),
    };
    this.capture = new CaptureView(actions, {
      token: () => session.token,
      openCapture: (id) => this.navigate(`list/${encodeURIComponent(`s:${id}`)}` as Route),
      failed: (err) => {
        if (err instanceof ApiError && err.status === 401) void session.expired();
        else this.shell.toast(t('web.failed', { detail: errorText(err) }));
      },
    });
    this.list = new ListView((key) => (location.hash = `#/list/${encodeURIComponent(key)}`), this.sender.progress, this.thumbs, (f) => {
      this.filters = f;
      this.filtered = null;
      void this.refresh();
      void this.fetchServer();
    });
    const ctx = this.ctx();
    const back = () => (history.length > 1 ? history.back() : this.navigate('list'));
    this.detail = new Lazy(async () => new (await import('./detail')).DetailView(ctx, back));
    this.device = new Lazy(async () => new (await import('./device')).DeviceView({
      rekey: async () => {
        await session.rekey();
        this.shell.toast(t('device.rekeyDone'));
        void this.revokeReplaced();
        await this.renderDevice();
      },
      logout: () => this.doLogout(),
      token: () => session.token,
      expired: () => void session.expired(),
      toast: (text) => this.shell.toast(text),
    }));
    this.verify = new Lazy(async () => new (await import('./verify')).VerifyView());
    this.cases = new Lazy(async () => new (await import('./cases')).CasesView(ctx));
    this.caseView = new Lazy(async () => new (await import('./cases')).CaseView(ctx));
    this.share = new Lazy(async () => new (await import('./sharepage')).SharePage());
    this.signup = new Lazy(async () => new (await import('./account')).SignupView(async (token, email) => {
      await session.adopt(token, email);
      this.shell.setSignedIn(true);
      this.navigate('capture');
      void this.afterSignIn();
    }));
    this.reset = new Lazy(async () => new (await import('./account')).ResetView());
  }

  private wire(): void {
    window.addEventListener('online', () => {
      this.updateNet();
      void logWatch.check();
      void this.renewToken();
      void this.sender.online();
      this.tracker.poke();
      void this.fetchServer(); // the list shown offline came from the device: refresh it
    });
    window.addEventListener('offline', () => {
      this.updateNet();
      this.scheduleRefresh();
    });
    window.addEventListener('hashchange', () => this.route());
    logWatch.onFork(() => void this.showFork());
    onChanged((id) => {
      this.scheduleRefresh();
      void this.tracker.ensure();
      if (this.savedToast && (id === null || id === this.savedToast.item)) void this.retireSavedToast();
    });
    onLang(() => {
      relabel(document.body);
      this.shell.relabel();
      this.current?.relabel?.();
      if (this.current) this.current.el.dataset.lang = lang();
      this.scheduleRefresh();
    });
    this.sender.progressHandlers.add((id) => this.list.updateProgress(id));
    streamClient.connectHandlers.add(() => {
      this.updateNet();
      void this.sender.online();
      if (this.serverAt) void this.fetchServer();
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
      if (!session.signedIn && !this.publicPage()) void this.showLogin();
      if (this.device.value && this.current === this.device.value) void this.renderDevice();
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
    const { name } = parseHash(location.hash);
    if (name === 'signup' || name === 'reset') return this.route();
    this.login.setPending((await allItems()).filter((i) => isUnsent(i.state)).length);
    this.swap(this.login);
    this.login.focus();
  }

  private async doLogin(email: string, password: string): Promise<void> {
    await session.login(email, password);
    this.shell.setSignedIn(true);
    await session.ensureKey();
    const { name } = parseHash(location.hash);
    if (location.hash.startsWith('#/') && name !== 'signup' && name !== 'reset') this.route();
    else this.navigate('capture');
    void this.afterSignIn();
  }

  private async doLogout(): Promise<void> {
    streamClient.disconnect();
    this.tracker.stop();
    // The server's list is this account's: not for whoever signs in next on this phone.
    this.server = [];
    this.filtered = null;
    this.serverAt = null;
    this.casesKnown = undefined;
    await kvDelete(SERVER_CACHE);
    await this.thumbs.clear();
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
    void logWatch.check();
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
    void this.revokeReplaced();
  }

  /** Keys replaced by "make a new key": revoked once nothing they signed waits to be sent. */
  private async revokeReplaced(): Promise<void> {
    if (!(await session.pendingRevocations()).length) return;
    const done = await session.revokeReplaced(async (keyId) =>
      (await allItems()).some((i) => i.keyId === keyId && isUnsent(i.state)));
    if (done.length && this.device.value && this.current === this.device.value) await this.renderDevice();
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
    // "queued for sending" is stale once the item is sent: retireSavedToast
    this.savedToast = { id: this.shell.toast(t('capture.saved')), item: item.id };
    this.navigate('list');
    void this.sender.drain();
    if (!navigator.onLine || !item.manifest) void this.sender.registerSync();
  }

  /** The "saved, queued for sending" toast goes once its item is sent (or gone). */
  private async retireSavedToast(): Promise<void> {
    const shown = this.savedToast;
    if (!shown) return;
    if (!this.shell.showing(shown.id)) {
      this.savedToast = null; // gone already (its 4 s, or another message)
      return;
    }
    const item = (await allItems()).find((i) => i.id === shown.item);
    if (item && isUnsent(item.state)) return;
    this.shell.dismiss(shown.id);
    if (this.savedToast === shown) this.savedToast = null;
  }

  /** A fork this phone witnessed, now or before: shown on every screen. */
  private async showFork(): Promise<void> {
    const forks = await logWatch.forks();
    const last = forks[forks.length - 1];
    if (!last) return;
    this.shell.setAlarm(last, () => copyText(forks.map((f) =>
      `# ${f.reason} ${f.at}\n## seen before (${f.oldVkey})\n${f.old}\n## served now (${f.newVkey})\n${f.new}`).join('\n')));
  }

  // -- routing ---------------------------------------------------------------------

  navigate(r: Route): void {
    // The public pages are outside the app's hash routes: leave them for the app.
    if (this.publicPage()) return void location.assign(`/#/${r}`);
    const hash = `#/${r}`;
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  private route(): void {
    if (this.publicPage()) return;
    const { name, arg, query } = parseHash(location.hash);
    if (!session.signedIn) {
      this.shell.setSignedIn(false);
      this.shell.setActive(null);
      if (name === 'signup') void this.swapLazy(this.signup, query);
      else if (name === 'reset') void this.swapLazy(this.reset, query);
      else if (this.current !== this.login) void this.showLogin();
      return;
    }
    this.shell.setSignedIn(true);
    if (name === 'list' && arg) {
      this.shell.setActive('list');
      if (this.detailKey !== arg) this.detail.value?.forget();
      this.detailKey = arg;
      void this.swapLazy(this.detail).then((ok) => {
        if (ok) void this.renderDetail(arg);
      });
    } else if (name === 'list') {
      this.shell.setActive('list');
      this.detailKey = null;
      this.swap(this.list);
      void this.refresh();
      void this.fetchServer();
      void this.updateStorage();
      void this.loadCases();
    } else if (name === 'cases') {
      this.shell.setActive('cases');
      if (arg) void this.swapLazy(this.caseView, arg);
      else void this.swapLazy(this.cases);
    } else if (name === 'device') {
      this.shell.setActive('device');
      void this.swapLazy(this.device).then((ok) => {
        if (ok) void this.renderDevice();
      });
    } else if (name === 'reset') {
      this.shell.setActive(null);
      void this.swapLazy(this.reset, query);
    } else {
      this.shell.setActive('capture');
      this.swap(this.capture, name === 'capture' ? arg : undefined);
    }
  }

  private swap(view: View, arg?: string): void {
    this.swapSeq++;
    if (this.current !== view) {
      this.current?.hide?.();
      // Texts of a view that was not on screen during a language switch.
      if (view.el.dataset.lang && view.el.dataset.lang !== lang()) {
        relabel(view.el);
        view.relabel?.();
      }
      view.el.dataset.lang = lang();
      this.shell.main.replaceChildren(view.el);
      this.shell.main.scrollTop = 0;
      this.current = view;
      this.shell.main.focus({ preventScroll: true });
    }
    void view.show?.(arg);
  }

  /** Swap to a lazily loaded view, unless another route was taken while it loaded. */
  private async swapLazy<T extends View>(lazy: Lazy<T>, arg?: string): Promise<boolean> {
    const seq = ++this.swapSeq;
    let view: T;
    try {
      view = await lazy.get();
    } catch (err) {
      this.shell.toast(t('err.generic', { detail: errorText(err) }));
      return false;
    }
    if (seq !== this.swapSeq) return false;
    this.swap(view, arg);
    return true;
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
    const server = filtersActive(this.filters) && this.filtered ? this.filtered : this.server;
    this.rows = rowsFrom(await allItems(), server);
    if (this.current === this.list) {
      this.list.render(this.rows);
      // Say the server's part is from the device only when the server is not there.
      this.list.setCached(this.serverAt && (!navigator.onLine || this.serverUnreachable) ? this.serverAt : null);
    }
    if (this.detail.value && this.current === this.detail.value && this.detailKey) void this.renderDetail(this.detailKey, false);
    void this.revokeReplaced();
  }

  private async loadServerCache(): Promise<void> {
    try {
      const cached = await kvGet<ServerCache>(SERVER_CACHE);
      if (cached && cached.email === session.email && Array.isArray(cached.items)) {
        this.server = cached.items;
        this.serverAt = cached.at;
      }
    } catch {
      /* no cache */
    }
  }

  private async fetchServer(): Promise<void> {
    if (this.serverPoll) clearTimeout(this.serverPoll);
    this.serverPoll = null;
    if (!session.token) return;
    const filters = this.filters;
    const active = filtersActive(filters);
    try {
      const query = active ? `&${serverQuery(filters)}` : '';
      const res = await apiFetch<{ items: ServerCapture[] }>(`/captures?limit=${active ? 200 : 50}${query}`, { token: session.token });
      if (filters !== this.filters) return; // the filters changed meanwhile
      if (active) this.filtered = res.items;
      else {
        this.server = res.items;
        this.serverAt = null;
        await kvSet(SERVER_CACHE, { email: session.email, at: new Date().toISOString(), items: res.items } satisfies ServerCache);
        void this.thumbs.prune(new Set(res.items.map((c) => c.id)));
      }
      this.serverUnreachable = false;
      await this.refresh();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) await session.expired();
      else if (err instanceof ApiError && err.status === 0) {
        // Offline: what is shown is the last list the server gave (filtered here).
        this.serverUnreachable = true;
        this.serverAt ??= (await kvGet<ServerCache>(SERVER_CACHE))?.at ?? null;
        await this.refresh();
      } else if (active && err instanceof ApiError && err.status === 400) {
        this.filtered = null; // an older server that does not filter: filtered here
        await this.refresh();
      }
    }
    // Captures made elsewhere are followed here until anchored, while the list is open.
    if (this.current === this.list && this.rows.some((r) => !r.localId && r.status === 'stored')) {
      this.serverPoll = setTimeout(() => void this.fetchServer(), 5000);
    }
  }

  /** The cases, for the list's filter (null when this server has none). */
  private async loadCases(): Promise<void> {
    if (this.casesKnown !== undefined) return this.list.setCases(this.casesKnown);
    try {
      this.casesKnown = (await apiFetch<{ items: CaseSummary[] }>('/cases', { token: session.token })).items;
    } catch (err) {
      if (!notAvailable(err)) return; // offline: asked again next time
      this.casesKnown = null;
    }
    this.list.setCases(this.casesKnown);
  }

  /** A capture changed on the server (its title, note, tags or cases). */
  private updated(c: ServerCapture): void {
    const swap = (list: ServerCapture[]) => list.map((x) => (x.id === c.id ? { ...x, ...c } : x));
    this.server = swap(this.server);
    if (this.filtered) this.filtered = swap(this.filtered);
    this.casesKnown = undefined;
    void kvSet(SERVER_CACHE, { email: session.email, at: new Date().toISOString(), items: this.server } satisfies ServerCache);
    this.scheduleRefresh();
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
    const detail = await this.detail.get();
    if (!fetch) {
      // A refresh of the outbox: keep what the server said, update the row's state.
      const last = detail.data;
      return detail.render({ row, server: last?.server ?? server, receipt: last?.receipt ?? null, checkpointAt: last?.checkpointAt ?? null, custody: last?.custody ?? null, offline: last?.offline ?? false });
    }
    detail.render({ row, server, receipt, checkpointAt, offline: false });
    if (!id || !session.token) return;
    const edits = detail.edits;
    // The owner's words saved while this read was on its way are newer than the read.
    const fresh = (s: ServerCapture | null): ServerCapture | null => {
      const shown = detail.data?.server;
      if (!s || edits === detail.edits || shown?.id !== s.id) return s;
      return { ...s, title: shown.title, note: shown.note, tags: shown.tags };
    };
    try {
      server = await apiFetch<ServerCapture>(`/captures/${id}`, { token: session.token });
      if (this.detailKey === key) detail.render({ row, server: fresh(server), receipt, checkpointAt, offline: false });
      if (server.status === 'anchored') {
        receipt = await apiFetch<Receipt>(`/captures/${id}/receipt`, { token: session.token });
        void logWatch.observe(receipt.checkpoint);
        checkpointAt = (receipt as Receipt & { checkpoint_created_at?: string }).checkpoint_created_at ?? (await anchorTimes(receipt)).checkpointAt;
      }
      custody = (await apiFetch<{ events: CustodyEvent[] }>(`/captures/${id}/custody`, { token: session.token })).events;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) await session.expired();
      offline = err instanceof ApiError && err.status === 0;
    }
    if (this.detailKey === key) detail.render({ row, server: fresh(server), receipt, checkpointAt, custody, offline });
  }

  private async renderDevice(): Promise<void> {
    await this.updateStorage();
    const device = await this.device.get();
    device.render({
      key: session.key,
      email: session.email,
      enrollError: session.enrollError ? problemParam(session.enrollError) : null,
      nonces: await countNonces(),
      storage: this.storageText,
      revoking: await session.pendingRevocations(),
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
      ? { key: 'list.storage', params: { used: fmtBytes(est.usage), quota: fmtBytes(est.quota) } }
      : { key: 'list.storageUnknown' };
  }
}
