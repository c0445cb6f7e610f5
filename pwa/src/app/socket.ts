// The Socket.IO connection to namespace /streams (protocol v2).
import { io, type Socket } from 'socket.io-client';
import { ApiError } from '../shared/api';

export interface ProgressEvent {
  stream_id: string;
  kind: string;
  seq: number;
  chunks: number;
  bytes: number;
  seconds: number;
  acked_at: string;
}

export interface CaptureEvent {
  id: string;
  status: string;
  stream_id: string;
}

type Ack = { ok: true } & Record<string, unknown>;

export class StreamClient {
  private socket: Socket | null = null;
  private token: string | null = null;
  readonly connectHandlers = new Set<() => void>();
  readonly disconnectHandlers = new Set<() => void>();
  readonly progressHandlers = new Set<(e: ProgressEvent) => void>();
  readonly captureHandlers = new Set<(e: CaptureEvent) => void>();
  readonly refusedHandlers = new Set<(code: string) => void>();

  get connected(): boolean {
    return !!this.socket?.connected;
  }

  connect(token: string): void {
    if (this.socket && this.token === token) return;
    this.disconnect();
    this.token = token;
    const socket = io('/streams', {
      path: '/socket.io',
      transports: ['websocket'],
      auth: { token },
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10_000,
    });
    socket.on('connect', () => this.connectHandlers.forEach((fn) => fn()));
    socket.on('disconnect', () => this.disconnectHandlers.forEach((fn) => fn()));
    socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      // A refused token: the server will not change its mind on a retry.
      const code = err.data?.code;
      if (code && /token|unauthorized/.test(code)) this.refusedHandlers.forEach((fn) => fn(code));
    });
    socket.on('progress', (e: ProgressEvent) => this.progressHandlers.forEach((fn) => fn(e)));
    socket.on('capture', (e: CaptureEvent) => this.captureHandlers.forEach((fn) => fn(e)));
    this.socket = socket;
  }

  disconnect(): void {
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
    this.token = null;
    this.disconnectHandlers.forEach((fn) => fn());
  }

  /** Emit and wait for the ack; `{ok: false}` answers throw an ApiError with the server's code. */
  async call<T = Ack>(event: string, payload: unknown, timeoutMs = 30_000): Promise<T> {
    const socket = this.socket;
    if (!socket?.connected) throw new ApiError(0, 'disconnected', 'not connected to the server');
    let res: { ok: boolean; error?: Record<string, unknown> } & Record<string, unknown>;
    try {
      res = await socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw new ApiError(0, 'timeout', `no answer to '${event}' within ${timeoutMs / 1000} s`);
    }
    if (!res || res.ok !== true) {
      const e = res?.error ?? {};
      throw new ApiError(
        typeof e.status === 'number' ? e.status : 422,
        typeof e.code === 'string' ? e.code : 'error',
        typeof e.detail === 'string' ? e.detail : 'refused',
        e,
      );
    }
    return res as T;
  }
}

export const streamClient = new StreamClient();
