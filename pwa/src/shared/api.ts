// Same-origin REST calls under /api/v1 with a bearer token (no cookies: CSRF-safe).
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
  opts: { method?: string; token?: string | null; json?: unknown; body?: BodyInit; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
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

/** The capture as the server returns it (GET /api/v1/captures/{id}). */
export interface ServerCapture {
  id: string;
  kind: string;
  status: 'stored' | 'anchored';
  media: { sha256: string; size: number; mime: string; sniffed_mime: string | null };
  manifest: Record<string, unknown>;
  manifest_hash: string;
  signature: string;
  device: { key_id: string };
  checks: { name: string; ok: boolean; detail: string }[];
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
  event: 'view' | 'download' | 'derive' | 'export' | 'anchored';
  at: string;
  actor: { user_id?: number; email?: string; system?: string };
  origin: { ip?: string; user_agent?: string };
  detail: Record<string, unknown>;
  leaf_index: number | null;
}

/** Multipart body for POST /captures: manifest, signature, then the media last. */
export function captureForm(manifest: string, signature: string, media: Blob, filename: string): FormData {
  const form = new FormData();
  form.append('manifest', manifest);
  form.append('signature', signature);
  form.append('media', media, filename);
  return form;
}

/** Single-file upload with fetch (used by the service worker; no progress). */
export async function uploadWithFetch(
  token: string,
  manifest: string,
  signature: string,
  media: Blob,
  filename: string,
): Promise<ServerCapture> {
  return apiFetch<ServerCapture>('/captures', {
    method: 'POST',
    token,
    body: captureForm(manifest, signature, media, filename),
  });
}
