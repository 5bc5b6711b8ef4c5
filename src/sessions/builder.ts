import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Decider } from '../commands/decider.js';
import type { DomainError } from '../commands/domain-error.js';
import { defineEvent, jsonCodec, type EventOf } from '../events/domain-event.js';
import { streamNaming } from '../events/stream-name.js';

/**
 * One open session per builder (`<category>-<project>`): the builder's own stream says which
 * session holds it. A session claims its builder before it is created and releases it when it
 * closes or fails.
 */
const BuilderClaimed = defineEvent(
  'BuilderClaimed',
  jsonCodec(t.type({ builder: t.string, session_id: t.string, claimed_at: t.string })),
);
const BuilderReleased = defineEvent(
  'BuilderReleased',
  jsonCodec(t.type({ builder: t.string, session_id: t.string, released_at: t.string })),
);
export type BuilderEvent = EventOf<typeof BuilderClaimed> | EventOf<typeof BuilderReleased>;
export const builderEventDefinitions = [BuilderClaimed, BuilderReleased] as const;

export const builderStream = streamNaming('builder').name;

export type Builder = { readonly status: 'free' } | { readonly status: 'held'; readonly sessionId: string };

export type BuilderCommand =
  | {
      readonly type: 'ClaimBuilder';
      readonly builder: string;
      readonly sessionId: string;
      /** A holder whose session was never created (a crash between claim and create) may be replaced. */
      readonly replacing?: string;
      readonly now: Date;
    }
  | { readonly type: 'ReleaseBuilder'; readonly builder: string; readonly sessionId: string; readonly now: Date };

export const builderDecider: Decider<BuilderCommand, BuilderEvent, Builder> = {
  initialState: () => ({ status: 'free' }),
  evolve: (state, event) => {
    switch (event.type) {
      case 'BuilderClaimed':
        return { status: 'held', sessionId: event.data.session_id };
      case 'BuilderReleased':
        return state.status === 'held' && state.sessionId === event.data.session_id ? { status: 'free' } : state;
      default: {
        const unexpected: never = event;
        return unexpected;
      }
    }
  },
  decide: (command, state): E.Either<DomainError, readonly BuilderEvent[]> => {
    const at = command.now.toISOString();
    switch (command.type) {
      case 'ClaimBuilder':
        if (state.status === 'held' && state.sessionId === command.sessionId) return E.right([]);
        if (state.status === 'held' && state.sessionId !== command.replacing) {
          return E.left({
            kind: 'conflict',
            state: 'held',
            detail: `builder ${command.builder} has an open session: ${state.sessionId}`,
          });
        }
        return E.right([
          { type: 'BuilderClaimed', data: { builder: command.builder, session_id: command.sessionId, claimed_at: at } },
        ]);
      case 'ReleaseBuilder':
        if (state.status !== 'held' || state.sessionId !== command.sessionId) return E.right([]);
        return E.right([
          {
            type: 'BuilderReleased',
            data: { builder: command.builder, session_id: command.sessionId, released_at: at },
          },
        ]);
      default: {
        const unexpected: never = command;
        return unexpected;
      }
    }
  },
};
