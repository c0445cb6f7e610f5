// Inline SVG icons (no external assets): 24×24, drawn with currentColor so
// they follow the text colour, the pressed state and dark mode. Decorative by
// default (the control's visible text is its accessible name); with a label
// key they are an image with an aria-label.
import { aria, type Key } from '../i18n';
import { svg } from './dom';

type Shape = [tag: string, attrs: Record<string, string | number>];

const dot = (cx: number, cy: number, r: number): Shape => ['circle', { cx, cy, r, fill: 'currentColor', stroke: 'none' }];

const ICONS = {
  // a camera body with its lens
  photo: [['path', { d: 'M3.5 8.5a1 1 0 0 1 1-1h3l1.6-2.5h5.8l1.6 2.5h3a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-15a1 1 0 0 1-1-1z' }], ['circle', { cx: 12, cy: 13.2, r: 3.6 }]],
  // a microphone on its stand
  audio: [['rect', { x: 9, y: 2.5, width: 6, height: 11.5, rx: 3 }], ['path', { d: 'M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7' }]],
  // a film camera: body and lens cone
  video: [['rect', { x: 2.5, y: 6.5, width: 13, height: 11, rx: 2 }], ['path', { d: 'M15.5 10.5l6-3.5v10l-6-3.5z' }]],
  // a phone screen with a red-dot recording mark
  screen: [['rect', { x: 6, y: 2.5, width: 12, height: 19, rx: 2.2 }], ['path', { d: 'M10.5 18.5h3' }], dot(12, 10, 2.8)],
  // an arrow into a tray
  import: [['path', { d: 'M12 3v10.5M7.5 9l4.5 4.5L16.5 9' }], ['path', { d: 'M3.5 14.5v4.5a1 1 0 0 0 1 1h15a1 1 0 0 0 1-1v-4.5' }]],
  // a globe
  web: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M3 12h18M12 3c2.8 3 2.8 15 0 18M12 3c-2.8 3-2.8 15 0 18' }]],
  // a shutter button
  capture: [['circle', { cx: 12, cy: 12, r: 9 }], dot(12, 12, 5)],
  // a list with bullets
  list: [['path', { d: 'M9 6.5h11M9 12h11M9 17.5h11' }], dot(4.5, 6.5, 1.4), dot(4.5, 12, 1.4), dot(4.5, 17.5, 1.4)],
  // a briefcase
  cases: [['rect', { x: 3, y: 7, width: 18, height: 13, rx: 2 }], ['path', { d: 'M9 7V5.2a1 1 0 0 1 1-1h4a1 1 0 0 1 1 1V7M3 12.5h18' }]],
  // a phone with a key
  device: [['rect', { x: 5, y: 2.5, width: 11, height: 19, rx: 2 }], ['circle', { cx: 16.5, cy: 13, r: 2.6 }], ['path', { d: 'M18.3 14.8l3 3M20.2 16.7l-1.2 1.2' }]],
  // a document with a folded corner
  file: [['path', { d: 'M14 3H6.5a1 1 0 0 0-1 1v16a1 1 0 0 0 1 1h11a1 1 0 0 0 1-1V7.5z' }], ['path', { d: 'M14 3v4.5h4.5' }]],
  // sharing: three linked nodes
  share: [['circle', { cx: 18, cy: 5.5, r: 2.5 }], ['circle', { cx: 6, cy: 12, r: 2.5 }], ['circle', { cx: 18, cy: 18.5, r: 2.5 }], ['path', { d: 'M8.2 10.8l7.6-4M8.2 13.2l7.6 4' }]],
  download: [['path', { d: 'M12 3.5v12M7 11l5 5 5-5M4.5 20.5h15' }]],
  // a certificate with a seal
  certificate: [['path', { d: 'M5 3.5h14v11H5z' }], ['path', { d: 'M8 7.5h8M8 10.5h5' }], ['circle', { cx: 15.5, cy: 16.5, r: 2.5 }], ['path', { d: 'M14 18.5l-1 3 2.5-1 2.5 1-1-3' }]],
  link: [['path', { d: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1' }]],
  check: [['path', { d: 'M4.5 12.5l5 5 10-11' }]],
  flag: [['path', { d: 'M12 3.5 2.5 20h19z' }], ['path', { d: 'M12 9.5v5' }], dot(12, 17.2, 1.1)],
  search: [['circle', { cx: 10.5, cy: 10.5, r: 6.5 }], ['path', { d: 'M15.5 15.5l5 5' }]],
  up: [['path', { d: 'M6 15l6-6 6 6' }]],
  down: [['path', { d: 'M6 9l6 6 6-6' }]],
  remove: [['path', { d: 'M6 6l12 12M18 6 6 18' }]],
  pin: [['path', { d: 'M12 21s-6.5-6-6.5-11a6.5 6.5 0 0 1 13 0c0 5-6.5 11-6.5 11z' }], ['circle', { cx: 12, cy: 10, r: 2.3 }]],
  // a triangle pointing forward: play from here
  play: [['path', { d: 'M7.5 5v14l11-7z', fill: 'currentColor' }]],
  plus: [['path', { d: 'M12 5v14M5 12h14' }]],
} satisfies Record<string, Shape[]>;

export type IconName = keyof typeof ICONS;

export function icon(name: IconName, label?: Key, cls = 'icon'): SVGElement {
  const el = svg('svg', { viewBox: '0 0 24 24', class: `${cls} icon-${name}`, fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', focusable: 'false' },
    ...(ICONS[name] as Shape[]).map(([tag, attrs]) => svg(tag, attrs)));
  if (label) {
    el.setAttribute('role', 'img');
    aria(el, label);
  } else {
    el.setAttribute('aria-hidden', 'true');
  }
  return el;
}

export function isIcon(name: string): name is IconName {
  return name in ICONS;
}
