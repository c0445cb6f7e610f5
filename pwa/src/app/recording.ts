// A live recording: MediaRecorder slices of 1 s become signed, hash-chained
// chunks, each stored in IndexedDB before it is sent.
import { deleteItem, getChunk, patchStream, putItem, type ChunkRecord, type OutboxItem, type StreamState } from '../shared/db';
import { initialState } from '../shared/outbox';
import { cleanMime, utc, type Geo, type RecordingContext, type StreamKind } from '../shared/protocol';
import { sha256Init, sha256Update } from '../shared/sha256';
import { geo } from './geo';
import { deviceInfo } from './meta';
import { signStreamHeader } from './signer';
import { pickMime } from './formats';
import { liveRecordings, REC_LOCK, sealChunk } from './streams';

export const TIMESLICE_MS = 1000;
const MAX_CHUNK = 2 * 1024 * 1024; // well under the server's 4 MiB default

// A call or meeting recording names its context before it starts. The page's
// controller starts every recording the same way (kind and stream), so the
// panel arms the context here, just before, and the session takes it.
let armed: RecordingContext | null = null;

/** The context of the next recording that begins (null: none). */
export function armContext(context: RecordingContext | null): void {
  armed = context;
}

function takeArmed(): RecordingContext | null {
  const c = armed;
  armed = null;
  return c;
}

export interface RecordingHooks {
  nonce: () => Promise<string | null>;
  kick: (id: string) => void;
}

export class RecordingSession {
  readonly id = crypto.randomUUID();
  readonly startedAt = new Date();
  private recorder: MediaRecorder;
  private queue: Promise<void> = Promise.resolve();
  private releaseLock: (() => void) | null = null;
  private st!: StreamState;
  private finished: Promise<void>;
  private inputs!: Promise<[string | null, Geo]>;
  private headerTried = false;
  private resolveFinished!: () => void;
  failed: unknown = null;

  private constructor(
    readonly kind: StreamKind,
    readonly media: MediaStream,
    private keyId: string,
    private mime: string,
    private hooks: RecordingHooks,
    readonly context: RecordingContext | null,
  ) {
    this.recorder = new MediaRecorder(media, { mimeType: mime });
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  static async begin(kind: StreamKind, media: MediaStream, keyId: string, hooks: RecordingHooks,
    context: RecordingContext | null = takeArmed()): Promise<RecordingSession> {
    const mime = pickMime(kind, media.getAudioTracks().length > 0);
    if (!mime) throw new Error('no supported recording format');
    const s = new RecordingSession(kind, media, keyId, mime, hooks, context);
    await s.open();
    return s;
  }

  private async open(): Promise<void> {
    const startedAt = utc(this.startedAt);
    this.st = {
      header: null,
      signature: null,
      id: null,
      pending: { kind: this.kind, mime: cleanMime(this.mime), startedAt, geo: null },
      started: false,
      recorded: 0,
      sealed: 0,
      acked: 0,
      chain: null,
      size: 0,
      hash: sha256Init(),
      lastAt: null,
      ended: null,
      killed: false,
      continues: null,
    };
    const item: OutboxItem = {
      id: this.id,
      kind: this.kind,
      createdAt: startedAt,
      keyId: this.keyId,
      mime: cleanMime(this.mime),
      name: null,
      sha256: null,
      size: null,
      start: startedAt,
      end: null,
      geo: null,
      device: await deviceInfo(this.keyId),
      nonce: null,
      manifest: null,
      manifestHash: null,
      signature: null,
      forge: false,
      stream: this.st,
      state: initialState(),
      // signed into the stream header, and restated by the final manifest
      ...(this.context ? { context: this.context } : {}),
    };
    // Marked live and locked before the item exists, so no sender (here or
    // in another tab) can mistake it for the recording of a dead page.
    liveRecordings.add(this.id);
    // Held while recording: another tab (or this one after a reload) sees a
    // free lock and knows the recording died, so it finalizes it.
    if (navigator.locks) {
      await new Promise<void>((acquired) => {
        void navigator.locks.request(REC_LOCK + this.id, () => {
          acquired();
          return new Promise<void>((release) => (this.releaseLock = release));
        });
      });
    }
    await putItem(item);
    this.recorder.ondataavailable = (e) => {
      const at = new Date();
      if (e.data.size > 0) this.enqueue(() => this.onData(e.data, at));
    };
    this.recorder.onstop = () => this.enqueue(() => this.onStop());
    this.recorder.onerror = () => this.stop();
    for (const track of this.media.getTracks()) track.addEventListener('ended', () => this.stop());
    this.recorder.start(TIMESLICE_MS);
    // Nonce and first fix are fetched while the recording already runs.
    this.inputs = Promise.all([this.hooks.nonce(), geo.fixOrAbsent(4000)]);
    void this.inputs.then(() => this.enqueue(() => this.signHeader()));
  }

  private enqueue(fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((err) => {
      this.failed = err;
      console.error('recording', err);
    });
  }

  /** Sign the header once the nonce and the first fix are there (runs in the queue). */
  private async signHeader(): Promise<void> {
    if (this.headerTried) return;
    this.headerTried = true;
    const [nonce, fix] = await this.inputs;
    // The recorder's actual type, once it started, is what the bytes are.
    const actual = this.recorder.mimeType ? cleanMime(this.recorder.mimeType) : this.st.pending.mime;
    this.st = { ...this.st, pending: { ...this.st.pending, geo: fix, mime: actual } };
    const next = await patchStream(this.id, { pending: this.st.pending }, undefined, { geo: fix, mime: actual, nonce });
    if (!nonce) return; // offline without a nonce: the sender signs it later
    const signed = await signStreamHeader(next);
    if (!signed) return;
    this.st = { ...this.st, header: signed.header, signature: signed.signature, id: signed.id, chain: signed.id };
    await patchStream(this.id, { header: signed.header, signature: signed.signature, id: signed.id, chain: signed.id });
    // Chunks stored before the header was signed are sealed now, in order.
    await this.sealBacklog();
    this.hooks.kick(this.id);
  }

  private async sealBacklog(): Promise<void> {
    while (this.st.header && this.st.sealed < this.st.recorded) {
      const rec = await getChunk(this.id, this.st.sealed);
      if (!rec) throw new Error(`chunk ${this.st.sealed} is missing`);
      const sealed = await sealChunk(this.keyId, this.st.id!, this.st.chain!, rec);
      this.st = { ...this.st, sealed: this.st.sealed + 1, chain: sealed.chain };
      await patchStream(this.id, { sealed: this.st.sealed, chain: this.st.chain }, sealed.rec);
    }
  }

  private async onData(blob: Blob, at: Date): Promise<void> {
    const all = new Uint8Array(await blob.arrayBuffer());
    for (let off = 0; off < all.length; off += MAX_CHUNK) {
      const data = all.slice(off, off + MAX_CHUNK);
      const seq = this.st.recorded;
      let rec: ChunkRecord = { item: this.id, seq, at: utc(at), geo: geo.latest, data: data.buffer, header: null, signature: null };
      const patch: Partial<StreamState> = {
        recorded: seq + 1,
        size: this.st.size + data.length,
        hash: sha256Update(this.st.hash, data),
        lastAt: rec.at,
      };
      if (this.st.header && this.st.sealed === seq) {
        // Sign first, store second, send third.
        const sealed = await sealChunk(this.keyId, this.st.id!, this.st.chain!, rec);
        rec = sealed.rec;
        patch.sealed = seq + 1;
        patch.chain = sealed.chain;
      }
      await patchStream(this.id, patch, rec);
      this.st = { ...this.st, ...patch };
    }
    if (this.st.sealed > 0) this.hooks.kick(this.id);
  }

  private async onStop(): Promise<void> {
    const ended = utc(new Date());
    this.media.getTracks().forEach((t) => t.stop());
    await this.signHeader(); // a short recording may stop before it was signed
    if (this.st.recorded === 0) {
      await deleteItem(this.id); // nothing was recorded
    } else {
      this.st = { ...this.st, ended };
      await patchStream(this.id, { ended }, undefined, { end: ended });
    }
    liveRecordings.delete(this.id);
    this.releaseLock?.();
    this.hooks.kick(this.id);
    this.resolveFinished();
  }

  get recording(): boolean {
    return this.recorder.state === 'recording';
  }

  /** Stop recording; resolves once the last chunk is stored and the recording is queued. */
  async stop(): Promise<void> {
    if (this.recorder.state !== 'inactive') this.recorder.stop();
    return this.finished;
  }

  get chunks(): number {
    return this.st.recorded;
  }
}

// -- meetings ------------------------------------------------------------------------

export interface MeetingMedia {
  /** What is recorded: one stereo audio track (and the shared picture, if asked). */
  stream: MediaStream;
  /** Stops every source and closes the audio graph (the recorder stops only its own tracks). */
  release(): void;
}

/**
 * The shared tab's or screen's sound and the microphone, kept apart in one
 * recording.
 *
 * Chromium's MediaRecorder records only the FIRST audio track of a stream
 * (measured: a stream with the tab's and the microphone's tracks gave a WebM
 * with one Opus stream holding the tab alone), and no browser container here
 * keeps two. So both go into one STEREO track through a Web Audio
 * ChannelMergerNode: channel 0 (left) is the display, channel 1 (right) the
 * microphone; each source is mixed down to mono on its own channel. The
 * context describes them as meeting.tracks [{index 0, display}, {index 1,
 * microphone}], the indexes meaning channels of the one audio stream.
 */
export function mergeMeeting(display: MediaStream, mic: MediaStream, video: boolean): MeetingMedia {
  const ctx = new AudioContext();
  void ctx.resume();
  const merger = ctx.createChannelMerger(2);
  const shown = display.getAudioTracks();
  if (shown.length) ctx.createMediaStreamSource(new MediaStream(shown)).connect(merger, 0, 0);
  ctx.createMediaStreamSource(mic).connect(merger, 0, 1);
  const dest = ctx.createMediaStreamDestination();
  dest.channelCount = 2;
  dest.channelCountMode = 'explicit';
  dest.channelInterpretation = 'discrete';
  merger.connect(dest);
  const tracks = [...dest.stream.getAudioTracks(), ...(video ? display.getVideoTracks() : [])];
  return {
    stream: new MediaStream(tracks),
    release: () => {
      for (const t of [...display.getTracks(), ...mic.getTracks(), ...tracks]) t.stop();
      void ctx.close().catch(() => undefined);
    },
  };
}
