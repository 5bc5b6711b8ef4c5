import * as t from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../events/domain-event.js';

/** The shared OpenCode server's life, on its own stream. */
const OpenCodeServerStarted = defineEvent(
  'OpenCodeServerStarted',
  jsonCodec(t.type({ pid: t.number, port: t.number, version: t.string, started_at: t.string })),
);
const OpenCodeServerExited = defineEvent(
  'OpenCodeServerExited',
  jsonCodec(
    t.type({
      pid: t.number,
      code: t.union([t.number, t.null]),
      signal: t.union([t.string, t.null]),
      restart_in_ms: t.union([t.number, t.null]),
      exited_at: t.string,
    }),
  ),
);
export type OpenCodeServerEvent = EventOf<typeof OpenCodeServerStarted> | EventOf<typeof OpenCodeServerExited>;
export const openCodeServerEventDefinitions = [OpenCodeServerStarted, OpenCodeServerExited] as const;
export const OPENCODE_SERVER_STREAM = 'opencode-server';
