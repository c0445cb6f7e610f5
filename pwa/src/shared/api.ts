// Same-origin REST calls under /api/v1 with a bearer token (no cookies: CSRF-safe).
import { b64url } from './bytes';
import type { Problem } from './outbox';

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly problem: Record<string, unknown> = {},
  ) {
    super(`${code}: ${detail}`);
  }

  get asProblem(): Problem {
    return { code: this.code, detail: this.detail, status: this.status };
  }
}

export async function problemFrom(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    /* not JSON: keep the status line */
  }
  const code = typeof body.code === 'string' ? body.code : `http_${res.status}`;
  const detail = typeof body.detail === 'string' ? body.detail : res.statusText;
  return new ApiError(res.status, code, detail, body);
}

export async function apiFetch<T>(
  path: string,
  opts: {
    method?: string;
    token?: string | null;
    json?: unknown;
    body?: BodyInit;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  let res: Response;
  try {
    res = await fetch(API + path, {
      method: opts.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
      credentials: 'omit',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (err) {
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  if (!res.ok) throw await problemFrom(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A binary answer (PDF, zip, media) with the name the server gives it. */
export async function apiBlob(
  path: string,
  opts: { token?: string | null; signal?: AbortSignal; base?: string } = {},
): Promise<{ blob: Blob; filename: string | null }> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch((opts.base ?? API) + path, { headers, credentials: 'omit', cache: 'no-store', signal: opts.signal });
  } catch (err) {
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  if (!res.ok) throw await problemFrom(res);
  const cd = res.headers.get('Content-Disposition') ?? '';
  const m = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(cd);
  const filename = m ? decodeURIComponent(m[1] ?? m[2]) : null;
  return { blob: await res.blob(), filename };
}

/** The nearest named place to the signed fix (the server's offline GeoNames data). */
export interface PlaceInfo {
  name?: string;
  name_zh?: string;
  admin1?: string;
  admin1_zh?: string;
  country?: string;
  distance_km?: number;
}

/** One sentence of the plain-language verdict: a code of shared/i18n/server.json "verdict". */
export interface VerdictPart {
  code: string;
  params?: Record<string, unknown>;
}

/** The capture as the server returns it (GET /api/v1/captures/{id}). */
export interface ServerCapture {
  id: string;
  kind: string;
  status: 'stored' | 'anchored';
  media: { sha256: string; size: number; mime: string; sniffed_mime?: string | null };
  manifest: Record<string, unknown>;
  manifest_hash: string;
  signature: string;
  device: { key_id: string; revoked_at?: string | null };
  // Annotations: the owner's words, not signed evidence (absent on older servers).
  title?: string;
  note?: string;
  tags?: string[];
  place?: PlaceInfo | null;
  verdict?: VerdictPart | VerdictPart[] | null;
  cases?: { id: string; title: string; position: number }[];
  checks: { name: string; ok: boolean; detail: string; code?: string; params?: Record<string, unknown> }[];
  exif: Record<string, unknown>;
  received_at: string;
  stream: { id: string; partial: boolean } | null;
}

export interface Receipt {
  capture_id: string;
  origin: string;
  leaf_index: number;
  tree_size: number;
  entry: string;
  leaf_hash: string;
  inclusion_proof: string[];
  checkpoint: string;
  timestamps: { tsa: string; embedded: boolean; token_b64: string; gen_time: string }[];
}

/** GET /captures/{id}/custody: every read and status change, each a log leaf. */
export interface CustodyEvent {
  event: string; // view, download, derive, export, anchored, preview, annotate, certificate…
  at: string;
  actor: { user_id?: number; email?: string; system?: string; share?: string | number; label?: string };
  origin: { ip?: string; user_agent?: string };
  detail: Record<string, unknown>;
  leaf_index: number | null;
}

export interface Party {
  role: string;
  name: string;
}

export interface CaseSummary {
  id: string;
  title: string;
  parties: Party[];
  note: string;
  created_at: string;
  updated_at: string;
  item_count?: number;
}

export interface CaseItem {
  position: number;
  capture_id: string;
  title: string;
  purpose: string;
  added_at: string;
  capture: ServerCapture;
}

export interface Case extends CaseSummary {
  items: CaseItem[];
}

export interface Share {
  id: string;
  url?: string;
  token?: string;
  kind: 'case' | 'capture';
  target_id: string;
  label: string | null;
  allow_download: boolean;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** What a share link shows (GET /s/{token}, public). */
export interface SharedCapture {
  id: string;
  kind: string;
  status: string;
  media: { sha256: string; size: number; mime: string };
  received_at: string;
  manifest: Record<string, unknown>;
  place?: PlaceInfo | null;
  verdict?: VerdictPart | VerdictPart[] | null;
  checks: ServerCapture['checks'];
  title?: string;
  note?: string;
  partial?: boolean;
}

export interface Shared {
  kind: 'case' | 'capture';
  label: string | null;
  expires_at: string;
  allow_download: boolean;
  case?: { title: string; parties: Party[]; note: string; items: { position: number; title: string; purpose: string; capture: SharedCapture }[] };
  capture?: SharedCapture;
}

export interface TokenInfo {
  id: string | number;
  label: string | null;
  created_at: string;
  expires_at: string | null;
  current: boolean;
}

export interface EnrolledDevice {
  key_id: string;
  label: string;
  created_at: string;
  capture_count?: number;
  revoked_at: string | null;
}

export interface SignupInfo {
  mode: 'open' | 'invite' | 'closed';
  contact?: string | null;
}

/** The server's limit for a manifest sent in a header (backend core/manifest.py MAX_MANIFEST_HEADER). */
export const MAX_MANIFEST_HEADER = 7 * 1024;

/**
 * POST /captures: the media as the body, the manifest (base64url) and signature
 * in headers, so the server refuses a bad claim before a byte of the media is
 * sent; a manifest too long for a header goes as a multipart form, media last.
 */
export function captureUpload(
  manifest: string,
  signature: string,
  media: Blob,
  filename: string,
): { body: Blob | FormData; headers: Record<string, string> } {
  const encoded = b64url(new TextEncoder().encode(manifest));
  if (encoded.length <= MAX_MANIFEST_HEADER) {
    return {
      body: media,
      headers: {
        'Content-Type': media.type || 'application/octet-stream',
        'FieldProof-Manifest': encoded,
        'FieldProof-Signature': signature,
      },
    };
  }
  const form = new FormData();
  form.append('manifest', manifest);
  form.append('signature', signature);
  form.append('media', media, filename);
  return { body: form, headers: {} };
}

/** Single-file upload with fetch (used by the service worker; no progress). */
export async function uploadWithFetch(
  token: string,
  manifest: string,
  signature: string,
  media: Blob,
  filename: string,
): Promise<ServerCapture> {
  const upload = captureUpload(manifest, signature, media, filename);
  return apiFetch<ServerCapture>('/captures', { method: 'POST', token, ...upload });
}
