// Follows stored captures until they are anchored: Socket.IO 'capture' events
// and polling GET /captures/{id} (and /receipt once anchored) while anything
// is pending.
import { ApiError, apiFetch, type Receipt, type ServerCapture } from '../shared/api';
import { allItems } from '../shared/db';
import { awaitsAnchor } from '../shared/outbox';
import { applyEvent } from '../shared/send';
import { logWatch } from './logwatch';
import { session } from './session';

const MIN_MS = 1500;
const MAX_MS = 15_000;

/** The checkpoint's creation time and the first TSA genTime, for a receipt. */
export async function anchorTimes(receipt: Receipt): Promise<{ checkpointAt: string | null; genTime: string | null }> {
  const genTime = receipt.timestamps[0]?.gen_time ?? null;
  let checkpointAt: string | null = null;
  try {
    const { checkpoints } = await apiFetch<{ checkpoints: { tree_size: number; created_at: string }[] }>(
      `/log/checkpoints?start=${receipt.tree_size}&limit=1`,
    );
    checkpointAt = checkpoints.find((c) => c.tree_size === receipt.tree_size)?.created_at ?? null;
  } catch {
    /* shown without it */
  }
  return { checkpointAt, genTime };
}

export class Tracker {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private interval = MIN_MS;
  private busy = false;

  /** Something new is pending (or an event arrived): look soon. */
  poke(): void {
    this.interval = MIN_MS;
    this.arm(200);
  }

  /** Make sure a round is scheduled if anything awaits its anchor (cheap; called on every change). */
  async ensure(): Promise<void> {
    if (this.timer || this.busy || !session.token) return;
    if ((await allItems()).some((i) => awaitsAnchor(i.state))) this.poke();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, ms);
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    let pending = 0;
    try {
      const token = session.token;
      if (!token) return;
      for (const item of await allItems()) {
        if (!awaitsAnchor(item.state) || !item.state.captureId) continue;
        pending++;
        try {
          const c = await apiFetch<ServerCapture>(`/captures/${item.state.captureId}`, { token });
          if (c.status !== 'anchored') continue;
          const receipt = await apiFetch<Receipt>(`/captures/${c.id}/receipt`, { token });
          void logWatch.observe(receipt.checkpoint); // every receipt: a checkpoint to witness
          await applyEvent(item.id, { type: 'anchored', ...(await anchorTimes(receipt)) });
          pending--;
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) await session.expired();
          /* not anchored yet (409) or offline: next round */
        }
      }
    } finally {
      this.busy = false;
      if (pending > 0 && session.token) {
        this.arm(this.interval);
        this.interval = Math.min(MAX_MS, Math.round(this.interval * 1.5));
      }
    }
  }
}
