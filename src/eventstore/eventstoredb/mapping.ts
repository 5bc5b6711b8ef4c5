import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
  DeadlineExceededError,
  NotLeaderError,
  WrongExpectedVersionError,
  type AppendExpectedRevision,
} from '@eventstore/db-client';
import { EventStoreUnavailableError, WrongExpectedRevisionError, type ExpectedRevision } from '../port.js';

export const toClientRevision = (expected: ExpectedRevision): AppendExpectedRevision => {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
};

/** The client's errors as the port's; anything unknown passes through unchanged. */
export const toPortError = (error: unknown, stream: string, expected: ExpectedRevision): unknown => {
  if (error instanceof WrongExpectedVersionError) {
    const actual = error.actualVersion;
    return new WrongExpectedRevisionError(stream, expected, typeof actual === 'bigint' ? Number(actual) : -1);
  }
  if (isUnavailable(error))
    return new EventStoreUnavailableError(`EventStoreDB is unavailable: ${(error as Error).message}`, { cause: error });
  return error;
};

export const isUnavailable = (error: unknown): boolean =>
  error instanceof UnavailableError || error instanceof DeadlineExceededError || error instanceof NotLeaderError;

export const isStreamNotFound = (error: unknown): boolean => error instanceof StreamNotFoundError;

/** System streams and event types start with `$`; the port's `$all` holds only the gateway's events. */
export const isSystem = (stream: string, type: string): boolean => stream.startsWith('$') || type.startsWith('$');
