// Errors as people read them: the server's problem+json `code` (stable) mapped
// to a message in the reader's language; the server's English `detail` only
// when the code is not one we know. Browser errors (DOMException names) too.
import { hasKey, t, type Key, type Param } from '../i18n';
import { ApiError } from '../shared/api';

export interface ProblemLike {
  code: string;
  detail?: string;
  status?: number;
  retry_after?: unknown;
}

function retryAfter(p: ProblemLike | ApiError): number | null {
  const raw = p instanceof ApiError ? p.problem.retry_after : p.retry_after;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : null;
}

/** The message for a problem: translated when its code is known, else the server's detail. */
export function problemText(p: ProblemLike | ApiError): string {
  const code = p.code;
  if (code === 'rate_limited') {
    const s = retryAfter(p);
    return s === null ? t('problem.rate_limited_plain') : t('problem.rate_limited', { seconds: s });
  }
  if (p.status === 0 && !hasKey(`problem.${code}`)) return t('problem.network');
  const key = `problem.${code}`;
  if (hasKey(key)) return t(key as Key);
  if (/^http_\d+$/.test(code)) return t('problem.http', { status: code.slice(5) });
  return p.detail || code;
}

/** A translatable parameter for a problem (so a language switch relabels it). */
export function problemParam(p: ProblemLike | ApiError): Param {
  const code = p.code;
  if (code === 'rate_limited') {
    const s = retryAfter(p);
    return s === null ? { key: 'problem.rate_limited_plain' } : { key: 'problem.rate_limited', params: { seconds: s } };
  }
  const key = `problem.${code}`;
  if (hasKey(key)) return { key: key as Key };
  if (p.status === 0) return { key: 'problem.network' };
  if (/^http_\d+$/.test(code)) return { key: 'problem.http', params: { status: code.slice(5) } };
  return p.detail || code;
}

/** Why the camera, microphone or screen could not be used, in the reader's language. */
export function reasonParam(err: unknown): Param {
  const name = err instanceof DOMException ? err.name : err instanceof Error ? err.name : '';
  if (name && hasKey(`reason.${name}`)) return { key: `reason.${name}` as Key };
  if (err instanceof ApiError) return problemParam(err);
  return { key: 'reason.other', params: { name: name || (err instanceof Error ? err.message : String(err)) } };
}

/** Any error as text: API problems and browser errors translated. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return problemText(err);
  const p = reasonParam(err);
  return typeof p === 'string' ? p : t((p as { key: Key }).key, (p as { params?: Record<string, Param> }).params);
}

/** True when the server does not have this endpoint yet (an older server). */
export function notAvailable(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 404 || err.status === 405) && (err.code === 'not_found' || err.code === 'method_not_allowed' || err.code.startsWith('http_'));
}
