/// <reference lib="webworker" />
// The service worker: precached app shell (Workbox injectManifest) and
// Background Sync for the outbox.
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { clientsClaim } from 'workbox-core';
import { getToken, stashShared } from './shared/db';
import { drainSingles, filename, withLock } from './shared/send';
import { uploadWithFetch } from './shared/api';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | { url: string; revision: string | null })[] };

export const SYNC_TAG = 'fieldproof-outbox';
/** The manifest's share_target action (vite.config.ts): another app shares a link or files. */
export const SHARE_PATH = '/share-target';

// Web Share Target: the POST another app makes is answered here, before
// Workbox (which handles GET only). Files are kept in IndexedDB and the app
// opens its import screen with them; a link goes on as the GET query the app
// already reads (src/ui/web.ts sharedUrl).
self.addEventListener('fetch', (event: FetchEvent) => {
  const req = event.request;
  if (req.method !== 'POST') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname !== SHARE_PATH) return;
  event.respondWith(takeShare(req));
});

async function takeShare(req: Request): Promise<Response> {
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    return Response.redirect('/', 303);
  }
  const files = form.getAll('media').filter((f): f is File => typeof f !== 'string' && f.size > 0);
  if (files.length) {
    await stashShared(files.slice(0, 20).map((f) => ({ name: f.name || 'shared', type: f.type, lastModified: f.lastModified, blob: f })));
    return Response.redirect('/#/capture/import', 303);
  }
  const q = new URLSearchParams();
  for (const k of ['share_title', 'share_text', 'share_url']) {
    const v = form.get(k);
    if (typeof v === 'string' && v) q.set(k, v);
  }
  return Response.redirect(q.size ? `/?${q}` : '/', 303);
}

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
// Every app route opens the shell, offline too. The API, Socket.IO, the
// verification page (which the server may serve itself) and the log's tiles
// always go to the network.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('index.html'), {
    denylist: [/^\/api\//, /^\/socket\.io/, /^\/verify/, /^\/tiles\//],
  }),
);

self.skipWaiting();
clientsClaim();

async function syncOutbox(): Promise<void> {
  const clients = await self.clients.matchAll({ type: 'window' });
  if (clients.length) {
    // A page is open: it sends everything (streams too) and shows progress.
    for (const c of clients) c.postMessage({ type: 'fieldproof:drain' });
    return;
  }
  const token = await getToken();
  if (!token) return;
  const result = await withLock('fieldproof-drain', () =>
    drainSingles((item, media) => uploadWithFetch(token, item.manifest!, item.signature!, media, filename(item))),
  );
  // Throwing asks the browser to fire 'sync' again later.
  if (result && result.failed > 0) throw new Error(`${result.failed} captures still queued`);
}

self.addEventListener('sync', (event: Event) => {
  const e = event as Event & { tag: string; waitUntil(p: Promise<unknown>): void };
  if (e.tag === SYNC_TAG) e.waitUntil(syncOutbox());
});

self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'fieldproof:skip-waiting') void self.skipWaiting();
});
