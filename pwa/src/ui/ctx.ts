// What the screens loaded on demand (detail, cases, device) get from the app:
// the token, navigation, a toast, the captures the list knows, thumbnails.
import type { Thumbnails } from '../app/files';
import type { ServerCapture } from '../shared/api';

export interface AppCtx {
  token(): string | null;
  toast(text: string): void;
  navigate(hash: string): void;
  /** The server said the token is no longer valid. */
  expired(): void;
  /** The server's captures the app knows (for pickers). */
  captures(): ServerCapture[];
  /** A capture changed on the server (annotations, cases): update the list. */
  updated(c: ServerCapture): void;
  thumbs: Thumbnails;
}
