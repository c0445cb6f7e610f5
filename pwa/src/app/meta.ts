// What a manifest says about the device that made it.
import { APP_VERSION, type DeviceInfo } from '../shared/protocol';

interface UAData {
  platform?: string;
  getHighEntropyValues?(hints: string[]): Promise<Record<string, unknown>>;
}

const HINTS = ['architecture', 'bitness', 'model', 'platformVersion', 'fullVersionList', 'wow64', 'formFactors'];
let hints: Record<string, unknown> | null = null;
let hintsLoaded: Promise<void> | null = null;

/** Keep only what the schema allows: strings, booleans, null, short arrays. */
export function cleanHints(raw: Record<string, unknown>): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw).slice(0, 32)) {
    if (v === null || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'string') out[k] = v.slice(0, 256);
    else if (Array.isArray(v)) out[k] = JSON.parse(JSON.stringify(v.slice(0, 16))) as unknown[];
  }
  return Object.keys(out).length ? out : null;
}

/** Ask once for the high-entropy client hints (async in the browser). */
export function loadHints(): Promise<void> {
  hintsLoaded ??= (async () => {
    const ua = (navigator as Navigator & { userAgentData?: UAData }).userAgentData;
    if (!ua?.getHighEntropyValues) return;
    try {
      hints = cleanHints(await ua.getHighEntropyValues(HINTS));
    } catch {
      hints = null;
    }
  })();
  return hintsLoaded;
}

export async function deviceInfo(keyId: string): Promise<DeviceInfo> {
  await loadHints();
  const ua = (navigator as Navigator & { userAgentData?: UAData }).userAgentData;
  const s = typeof screen !== 'undefined' ? screen : null;
  let timezone = 'UTC';
  try {
    timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    /* keep UTC */
  }
  return {
    key_id: keyId,
    user_agent: navigator.userAgent.slice(0, 1024),
    ua_hints: hints,
    platform: (ua?.platform || navigator.platform || 'unknown').slice(0, 128),
    screen: s
      ? { width: Math.round(s.width), height: Math.round(s.height), pixel_ratio: Math.min(64, window.devicePixelRatio || 1) }
      : null,
    app_version: APP_VERSION,
    timezone: timezone.slice(0, 64),
    language: (navigator.language || 'und').slice(0, 35),
  };
}

/** A label for the device list on the server, e.g. "Chrome on Android". */
export function deviceLabel(): string {
  const ua = (navigator as Navigator & { userAgentData?: UAData & { brands?: { brand: string }[] } }).userAgentData;
  const brand = ua?.brands?.find((b) => !/Not.?A.?Brand|Chromium/i.test(b.brand))?.brand ?? 'Browser';
  return `${brand} on ${ua?.platform || navigator.platform || 'unknown'} (FieldProof PWA)`.slice(0, 100);
}
