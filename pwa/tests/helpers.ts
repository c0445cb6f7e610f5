import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SHARED = join(__dirname, '..', '..', 'shared');

export function readJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(...parts), 'utf8')) as T;
}

export function readText(...parts: string[]): string {
  return readFileSync(join(...parts), 'utf8');
}

export function list(...parts: string[]): string[] {
  return readdirSync(join(...parts)).sort();
}
