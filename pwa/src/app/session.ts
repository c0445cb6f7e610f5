// Sign-in, the device key and the nonce pool.
import { apiFetch, ApiError } from '../shared/api';
import {
  addNonce,
  clearNonces,
  clearShared,
  countNonces,
  currentKey,
  kvDelete,
  kvGet,
  kvSet,
  NOTICE_KEY,
  putKey,
  takeNonce,
  type KeyRecord,
  type NonceRecord,
} from '../shared/db';
import { generateDeviceKey, publicJwk, thumbprint } from '../shared/keys';
import { renewalDue } from '../shared/tokens';
import { deviceLabel } from './meta';

export const NONCE_POOL = 5;
/** Keys replaced by "make a new key", revoked once what they signed has been sent. */
const REVOKE = 'revoke-keys';


type Listener = () => void;

export class Session {
  token: string | null = null;
  email: string | null = null;
  key: KeyRecord | null = null;
  enrollError: ApiError | null = null;
  private listeners = new Set<Listener>();
  private refilling: Promise<void> | null = null;

  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(): void {
    this.listeners.forEach((fn) => fn());
  }

  get signedIn(): boolean {
    return !!this.token;
  }

  async restore(): Promise<void> {
    this.token = (await kvGet<string>('token')) ?? null;
    this.email = (await kvGet<string>('email')) ?? null;
    this.key = (await currentKey()) ?? null;
  }

  async login(email: string, password: string): Promise<void> {
    const { token } = await apiFetch<{ token: string }>('/auth/login', {
      json: { email, password, label: 'fieldproof-pwa' },
    });
    await kvSet('token', token);
    await kvSet('email', email);
    this.token = token;
    this.email = email;
    this.notify();
  }

  /** Signed in with a token from elsewhere (a sign-up). */
  async adopt(token: string, email: string): Promise<void> {
    await kvSet('token', token);
    await kvSet('email', email);
    this.token = token;
    this.email = email;
    this.notify();
  }

  /**
   * Renew the token once half its lifetime has passed, so that a phone used
   * now and then never meets an expired one. The old token keeps working for a
   * few minutes on the server, so requests in flight finish; the outbox holds
   * no tokens (captures are signed by the device key), so nothing queued is
   * lost. Returns the new token, or null when none was needed or possible.
   */
  renewIfDue(now: number = Date.now()): Promise<string | null> {
    this.renewing ??= (async () => {
      const token = this.token;
      if (!token) return null;
      try {
        const me = await apiFetch<{ token_issued_at: string | null; token_expires_at: string | null }>('/me', { token });
        if (!renewalDue(me.token_issued_at, me.token_expires_at, now)) return null;
        const renewed = await apiFetch<{ token: string }>('/auth/renew', { method: 'POST', token });
        if (this.token !== token) return null; // signed out meanwhile
        await kvSet('token', renewed.token);
        this.token = renewed.token;
        this.notify();
        return renewed.token;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) await this.expired();
        return null; // offline: try again later
      } finally {
        this.renewing = null;
      }
    })();
    return this.renewing;
  }

  private renewing: Promise<string | null> | null = null;

  /** Revoke the token and forget it. The outbox stays, to be sent after the next sign-in. */
  async logout(): Promise<void> {
    const token = this.token;
    this.token = null;
    await kvDelete('token');
    await clearNonces(); // nonces belong to the account that signed out
    // ... and so do the lawful-recording notice they acknowledged (it is signed into
    // each call as theirs) and the files shared into the app for them
    await kvDelete(NOTICE_KEY);
    await clearShared();
    this.notify();
    if (token) {
      try {
        await apiFetch('/auth/logout', { method: 'POST', token });
      } catch {
        /* offline: the token is forgotten here; it expires or is revoked later */
      }
    }
  }

  /** Called when the server says the token is no longer valid. */
  async expired(): Promise<void> {
    if (!this.token) return;
    this.token = null;
    await kvDelete('token');
    this.notify();
  }

  /** The device key, made on first use: non-extractable, kept in IndexedDB. */
  async ensureKey(): Promise<KeyRecord> {
    if (this.key) return this.key;
    this.key = (await currentKey()) ?? (await this.newKey());
    return this.key;
  }

  private async newKey(): Promise<KeyRecord> {
    const pair = await generateDeviceKey();
    const jwk = await publicJwk(pair.publicKey);
    const rec: KeyRecord = {
      keyId: await thumbprint(jwk),
      pair,
      jwk,
      createdAt: new Date().toISOString(),
      enrolledAt: null,
      prev: null,
    };
    await putKey(rec, true);
    return rec;
  }

  private enrolling: Promise<void> | null = null;

  /** Enroll the key with this account (a no-op on the server if it already is). */
  enroll(): Promise<void> {
    this.enrolling ??= this.enrollOnce().finally(() => (this.enrolling = null));
    return this.enrolling;
  }

  private async enrollOnce(): Promise<void> {
    const key = await this.ensureKey();
    if (!this.token) return;
    try {
      const dev = await apiFetch<{ key_id: string; created_at: string }>('/devices', {
        json: { jwk: key.jwk, label: deviceLabel() },
        token: this.token,
      });
      key.enrolledAt = dev.created_at;
      await putKey(key);
      this.enrollError = null;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'device_taken') {
        // This key belongs to another account: this account gets a key of its own.
        this.key = await this.newKey();
        this.notify();
        return this.enrollOnce();
      }
      if (err instanceof ApiError && err.status === 401) await this.expired();
      this.enrollError = err instanceof ApiError ? err : null;
      throw err;
    } finally {
      this.notify();
    }
  }

  /**
   * A new key pair for this device; captures already signed keep their
   * signatures. The old key is revoked on the server once the new one is
   * enrolled and every capture the old one signed has been sent (revoking it
   * earlier would make the server refuse them).
   */
  async rekey(): Promise<KeyRecord> {
    const old = this.key;
    this.key = await this.newKey();
    if (old && old.keyId !== this.key.keyId) {
      const pending = (await kvGet<string[]>(REVOKE)) ?? [];
      if (!pending.includes(old.keyId)) await kvSet(REVOKE, [...pending, old.keyId]);
    }
    this.notify();
    try {
      await this.enroll();
    } catch {
      /* enrolled later, before the next upload */
    }
    return this.key;
  }

  /** Keys waiting to be revoked. */
  async pendingRevocations(): Promise<string[]> {
    return (await kvGet<string[]>(REVOKE)) ?? [];
  }

  private revoking: Promise<string[]> | null = null;

  /**
   * Revoke the replaced keys that nothing waits for any more (`busy` says
   * whether captures signed by a key are still to be sent). Returns the keys
   * revoked now.
   */
  revokeReplaced(busy: (keyId: string) => Promise<boolean>): Promise<string[]> {
    this.revoking ??= (async () => {
      const done: string[] = [];
      try {
        if (!this.token || !this.key?.enrolledAt) return done; // the new key first
        for (const keyId of await this.pendingRevocations()) {
          if (keyId === this.key.keyId || (await busy(keyId))) continue;
          try {
            await apiFetch(`/devices/${encodeURIComponent(keyId)}`, { method: 'DELETE', token: this.token });
            done.push(keyId);
          } catch (err) {
            if (!(err instanceof ApiError && (err.code === 'device_not_found' || err.status === 404))) continue; // offline: later
            done.push(keyId); // not this account's any more: nothing to revoke
          }
        }
        if (done.length) await kvSet(REVOKE, (await this.pendingRevocations()).filter((k) => !done.includes(k)));
        return done;
      } finally {
        this.revoking = null;
      }
    })();
    return this.revoking;
  }

  async fetchNonce(): Promise<NonceRecord> {
    return apiFetch<NonceRecord>('/nonces', { method: 'POST', token: this.token, signal: AbortSignal.timeout(10_000) });
  }

  /** Keep a few nonces on the device so captures made offline can be signed. */
  refillNonces(target = NONCE_POOL): Promise<void> {
    this.refilling ??= (async () => {
      try {
        let have = await countNonces();
        while (this.token && have < target) {
          await addNonce(await this.fetchNonce());
          have++;
        }
      } catch {
        /* offline: try again later */
      } finally {
        this.refilling = null;
      }
    })();
    return this.refilling;
  }

  /** A nonce for a capture starting now: from the pool, else from the server, else null. */
  async nonce(): Promise<string | null> {
    const pooled = await takeNonce();
    if (pooled) {
      void this.refillNonces();
      return pooled.nonce;
    }
    if (!this.token) return null;
    try {
      return (await this.fetchNonce()).nonce;
    } catch {
      return null;
    }
  }
}

export const session = new Session();
