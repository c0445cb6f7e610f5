// RFC 8785 (JCS) canonical JSON: what every signature in the protocol covers.
import canonicalize from 'canonicalize';
import { utf8 } from './bytes';

export function canonicalText(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalized');
  return text;
}

export function canonicalBytes(value: unknown): Uint8Array {
  return utf8.encode(canonicalText(value));
}
