// Pure choices about formats (no browser state), unit-tested.
import type { StreamKind } from '../shared/protocol';

const CANDIDATES: Record<'audio' | 'video' | 'silent-video', string[]> = {
  audio: ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4;codecs=opus', 'audio/webm', 'audio/mp4', 'audio/aac'],
  video: ['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm', 'video/mp4;codecs=avc1,mp4a', 'video/mp4'],
  'silent-video': ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm', 'video/mp4;codecs=avc1', 'video/mp4'],
};

/**
 * The first container/codec this browser's MediaRecorder supports, asked
 * with isTypeSupported: never assumed per browser (Chromium's audio/mp4 is
 * Opus in fragmented MP4, Safari's is AAC).
 */
export function pickMime(
  kind: StreamKind,
  hasAudio: boolean,
  isSupported: (t: string) => boolean = (t) => MediaRecorder.isTypeSupported(t),
): string | null {
  const list = kind === 'audio' ? CANDIDATES.audio : hasAudio ? CANDIDATES.video : CANDIDATES['silent-video'];
  return list.find((t) => isSupported(t)) ?? null;
}

/**
 * A file chosen in the camera fallback: a photo only if it was just taken
 * (modified in the last two minutes); anything older counts as an import.
 */
export function fallbackKind(file: { type: string; lastModified: number }, now = Date.now()): 'photo' | 'import' {
  return file.type.startsWith('image/') && Math.abs(now - file.lastModified) < 120_000 ? 'photo' : 'import';
}
