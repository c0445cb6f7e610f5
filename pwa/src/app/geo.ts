// Location: one fix at the start of a capture and a track during recordings.
// A refusal or a failure is recorded as a reason, never a crash.
import { geoFromPosition, type AbsentReason, type Geo, type GeoFix } from '../shared/protocol';

const REASONS: Record<number, AbsentReason> = { 1: 'permission_denied', 2: 'position_unavailable', 3: 'timeout' };

export class GeoTracker {
  latest: GeoFix | null = null;
  absent: AbsentReason | null = null;
  private watchId: number | null = null;
  private waiters: (() => void)[] = [];
  private listeners = new Set<() => void>();

  get supported(): boolean {
    return typeof navigator !== 'undefined' && 'geolocation' in navigator;
  }

  start(): void {
    if (this.watchId !== null) return;
    if (!this.supported) {
      this.absent = 'unsupported';
      this.notify();
      return;
    }
    this.watchId = navigator.geolocation.watchPosition(
      (pos) => {
        this.latest = geoFromPosition(pos);
        this.absent = null;
        this.notify();
      },
      (err) => {
        // Keep an earlier fix if there is one; the reason is for when there is none.
        this.absent = REASONS[err.code] ?? 'position_unavailable';
        this.notify();
      },
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 20_000 },
    );
  }

  stop(): void {
    if (this.watchId !== null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((fn) => fn());
    this.listeners.forEach((fn) => fn());
  }

  /** The current fix, or wait up to `timeoutMs` for the first one; else the reason. */
  async fixOrAbsent(timeoutMs = 4000): Promise<Geo> {
    this.start();
    if (this.latest) return this.latest;
    if (this.absent && this.absent !== 'timeout') return { absent: this.absent };
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
    if (this.latest) return this.latest;
    return { absent: this.absent ?? 'timeout' };
  }
}

export const geo = new GeoTracker();
