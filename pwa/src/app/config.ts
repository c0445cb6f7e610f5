// Deployment hooks, set at build time (Vite env).
//
// VITE_MAP_TILE_URL: a slippy-map tile template such as "/map/{z}/{x}/{y}.png"
// (not under /tiles/: that path is the transparency log's, see PROTOCOL.md).
// Without it the capture detail shows no map (the coordinates and the place name
// only): nothing is fetched from a map provider, and the server's
// Content-Security-Policy (img-src 'self') allows only same-origin tiles, so a
// deployment proxies its tile server under its own origin.
import { h } from '../ui/dom';

const TILE_URL: string | undefined = (import.meta.env as Record<string, string | undefined>).VITE_MAP_TILE_URL;
const ZOOM = 15;

/** One map tile around a point, with a pin; null when no tile URL is configured. */
export function mapTile(lat: number, lon: number, label: string, template = TILE_URL): HTMLElement | null {
  if (!template) return null;
  const n = 2 ** ZOOM;
  const fx = ((lon + 180) / 360) * n;
  const rad = (lat * Math.PI) / 180;
  const fy = ((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n;
  const x = Math.floor(fx);
  const y = Math.floor(fy);
  const src = template.replace('{z}', String(ZOOM)).replace('{x}', String(x)).replace('{y}', String(y));
  return h('div', { class: 'map-tile', role: 'img', 'aria-label': label },
    h('img', { src, alt: '', width: 256, height: 256, loading: 'lazy' }),
    h('span', { class: 'map-pin', style: `left:${((fx - x) * 100).toFixed(2)}%;top:${((fy - y) * 100).toFixed(2)}%` }));
}
