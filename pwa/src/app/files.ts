// Files for people: saving and sharing what the server made (bundles, PDFs),
// and thumbnails for the list, fetched with the bearer token (an <img> cannot
// send one) and shown as object URLs.
import { ApiError, apiBlob } from '../shared/api';
import { getMedia, kvDelete, kvGet, kvSet, openDb } from '../shared/db';

/** Save a blob as a file (the browser's download). */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export type Shared = 'shared' | 'downloaded' | 'cancelled';

/**
 * Hand a file to another app (the Web Share API, where the phone can share
 * files), else save it. A person who closes the share sheet has cancelled.
 */
export async function shareOrDownload(blob: Blob, filename: string, title: string): Promise<Shared> {
  const file = new File([blob], filename, { type: blob.type || 'application/octet-stream' });
  const nav = navigator as Navigator & { canShare?: (d: ShareData) => boolean };
  if (nav.share && nav.canShare?.({ files: [file] })) {
    try {
      await nav.share({ files: [file], title });
      return 'shared';
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return 'cancelled';
      /* not allowed here (no user gesture left, policy): save it instead */
    }
  }
  download(blob, filename);
  return 'downloaded';
}

/** Share a link (the share sheet), else copy it. */
export async function shareLink(url: string, title: string): Promise<'shared' | 'copied' | 'cancelled' | 'failed'> {
  if (navigator.share) {
    try {
      await navigator.share({ url, title });
      return 'shared';
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return 'cancelled';
    }
  }
  return (await copyText(url)) ? 'copied' : 'failed';
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Fetch a file from the API with the token, then share or save it. */
export async function fetchAndHand(path: string, token: string | null, fallbackName: string, title: string, share: boolean): Promise<Shared> {
  const { blob, filename } = await apiBlob(path, { token });
  const name = filename ?? fallbackName;
  if (share) return shareOrDownload(blob, name, title);
  download(blob, name);
  return 'downloaded';
}

// -- thumbnails --------------------------------------------------------------------

const NONE = 'none'; // the server has no thumbnail for this file (409 no_thumbnail)
const PREFIX = 'thumb:';
const SIDE = 240;

/**
 * Thumbnails by capture: in memory as object URLs, on the device (kv) as blobs
 * so the list shows them offline. At most a few requests at a time; a server
 * without the endpoint is asked once.
 */
export class Thumbnails {
  private urls = new Map<string, string | null>();
  private pending = new Map<string, Promise<string | null>>();
  private queue: (() => void)[] = [];
  private active = 0;
  private unsupported = false;

  constructor(private token: () => string | null, private limit = 4) {}

  /** The cached answer, if any (undefined: not known yet). */
  peek(key: string): string | null | undefined {
    return this.urls.get(key);
  }

  /** A server capture's thumbnail (null: none; show the kind's icon). */
  forCapture(id: string): Promise<string | null> {
    const key = `s:${id}`;
    if (this.urls.has(key)) return Promise.resolve(this.urls.get(key)!);
    let p = this.pending.get(key);
    if (!p) {
      p = this.loadServer(id).then((url) => {
        this.urls.set(key, url);
        this.pending.delete(key);
        return url;
      });
      this.pending.set(key, p);
    }
    return p;
  }

  /** A photo still on this device (not yet sent, or kept): made here, from its bytes. */
  forLocal(id: string): Promise<string | null> {
    const key = `l:${id}`;
    if (this.urls.has(key)) return Promise.resolve(this.urls.get(key)!);
    let p = this.pending.get(key);
    if (!p) {
      p = this.slot(async () => {
        const blob = await getMedia(id);
        return blob ? scaled(blob) : null;
      }).then((b) => {
        const url = b ? URL.createObjectURL(b) : null;
        this.urls.set(key, url);
        this.pending.delete(key);
        return url;
      }, () => null);
      this.pending.set(key, p);
    }
    return p;
  }

  private async loadServer(id: string): Promise<string | null> {
    const stored = await kvGet<Blob | string>(PREFIX + id).catch(() => undefined);
    if (stored === NONE) return null;
    if (stored instanceof Blob) return URL.createObjectURL(stored);
    if (this.unsupported) return null;
    const token = this.token();
    if (!token) return null;
    try {
      const { blob } = await this.slot(() => apiBlob(`/captures/${encodeURIComponent(id)}/derived/thumbnail`, { token }));
      await kvSet(PREFIX + id, blob).catch(() => undefined);
      return URL.createObjectURL(blob);
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'no_thumbnail' || err.code === 'unsupported_format' || err.code === 'not_a_photo')) {
        await kvSet(PREFIX + id, NONE).catch(() => undefined);
      } else if (err instanceof ApiError && err.status === 404 && err.code !== 'capture_not_found') {
        this.unsupported = true; // an older server: no thumbnails
      }
      return null; // offline: asked again next time
    }
  }

  private slot<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        this.active++;
        fn().then(resolve, reject).finally(() => {
          this.active--;
          this.queue.shift()?.();
        });
      };
      if (this.active < this.limit) run();
      else this.queue.push(run);
    });
  }

  /** Keep the stored thumbnails of these captures only (the list the server gave). */
  async prune(keep: Set<string>): Promise<void> {
    try {
      const db = await openDb();
      const keys = await db.getAllKeys('kv', IDBKeyRange.bound(PREFIX, PREFIX + '\uffff'));
      for (const k of keys) if (!keep.has(String(k).slice(PREFIX.length))) await kvDelete(String(k));
    } catch {
      /* kept for now */
    }
  }

  /** Forget everything (sign-out: another account's pictures are not for the next one). */
  async clear(): Promise<void> {
    for (const url of this.urls.values()) if (url) URL.revokeObjectURL(url);
    this.urls.clear();
    await this.prune(new Set());
  }
}

/** A small JPEG of a photo, for the list. */
async function scaled(blob: Blob): Promise<Blob | null> {
  if (!blob.type.startsWith('image/') || typeof createImageBitmap === 'undefined') return null;
  const bmp = await createImageBitmap(blob);
  const k = Math.min(1, SIDE / Math.max(bmp.width, bmp.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bmp.width * k));
  canvas.height = Math.max(1, Math.round(bmp.height * k));
  canvas.getContext('2d')?.drawImage(bmp, 0, 0, canvas.width, canvas.height);
  bmp.close();
  return new Promise((resolve) => canvas.toBlob((b) => resolve(b), 'image/jpeg', 0.8));
}
