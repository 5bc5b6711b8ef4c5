// koa-sse-stream ships no typings; only what src/api/sse.ts uses is declared.
declare module 'koa-sse-stream' {
  import type { Middleware } from 'koa';
  import type { Transform } from 'node:stream';
  export interface SseTransform extends Transform {
    send(data: string | { id?: string; event?: string; data?: string; retry?: number }): void;
    ended: boolean;
  }
  export default function sse(options?: {
    maxClients?: number;
    pingInterval?: number;
    closeEvent?: string;
    matchQuery?: string;
  }): Middleware;
}
