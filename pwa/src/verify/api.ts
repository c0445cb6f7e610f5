// The public verification endpoints (web/verify_api.py). No token is sent:
// the /verify page works without an account. What leaves the browser is a
// SHA-256 (lookup) or a timestamp token with the checkpoint text (timestamp),
// never a file's bytes.
import { apiFetch } from '../shared/api';
import { b64 } from '../shared/bytes';
import type { TimestampExplanation } from './bundle';

export interface LookupMatch {
  matched: 'media' | 'manifest';
  kind: string;
  partial: boolean;
  received_at: string;
  anchored: boolean;
  leaf_index: number | null;
  checkpoint: {
    tree_size: number;
    created_at: string;
    timestamps: { tsa: string; embedded: boolean; gen_time: string }[];
  } | null;
}

export interface LookupResult {
  sha256: string;
  found: boolean;
  matches: LookupMatch[];
  truncated: boolean;
}

/** POST, not GET: the hash stays out of URLs, access logs and the history. */
export function lookupHash(sha256: string, signal?: AbortSignal): Promise<LookupResult> {
  return apiFetch<LookupResult>('/lookup', { method: 'POST', json: { sha256 }, signal });
}

export function explainTimestamp(token: Uint8Array, checkpoint: string, signal?: AbortSignal): Promise<TimestampExplanation> {
  return apiFetch<TimestampExplanation>('/verify/timestamp', { method: 'POST', json: { token_b64: b64(token), checkpoint }, signal });
}

/** The log key this server publishes, or null if the server cannot be asked. */
export async function serverVkey(signal?: AbortSignal): Promise<string | null> {
  try {
    return (await apiFetch<{ vkey: string }>('/log', { signal })).vkey;
  } catch {
    return null;
  }
}
