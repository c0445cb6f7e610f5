// A place (the nearest named place to the signed fix, from the server's offline
// GeoNames data) named in the reader's language, as backend core/verdict.py does.
import { lang } from './index';

export interface Place {
  name?: string;
  name_zh?: string;
  admin1?: string;
  admin1_zh?: string;
  country?: string;
  distance_km?: number;
  /** The server's wording, the same as on the certificate. */
  label?: { en?: string; 'zh-CN'?: string };
}

/** A place name in the reader's language: "Futian, Guangdong" / "广东省福田区". */
export function placeName(place: Place | null | undefined): string | null {
  if (!place || !place.name) return null;
  const label = place.label?.[lang()];
  if (label) return label;
  if (lang() === 'zh-CN') {
    const name = place.name_zh || place.name;
    const admin = place.admin1_zh || '';
    if (place.country === 'CN') return admin.startsWith(name) ? admin : `${admin}${name}`;
    return place.country ? `${name}（${place.country}）` : name;
  }
  const admin = place.admin1 && place.admin1 !== place.name ? place.admin1 : '';
  return [place.name, admin, place.admin1 ? '' : place.country].filter(Boolean).join(', ');
}
