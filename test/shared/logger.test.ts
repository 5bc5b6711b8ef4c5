import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { logFormatFor } from '../../src/shared/logger.js';

test('logs are pretty only on a terminal, JSON lines anywhere else', (t) => {
  t.deepEqual(logFormatFor(true, {}), E.right('pretty'));
  t.deepEqual(logFormatFor(false, {}), E.right('json'));
  t.deepEqual(logFormatFor(true, { LOG_FORMAT: '' }), E.right('pretty'), 'empty is unset');
});

test('LOG_FORMAT chooses, whatever stdout is', (t) => {
  t.deepEqual(logFormatFor(true, { LOG_FORMAT: 'json' }), E.right('json'));
  t.deepEqual(logFormatFor(false, { LOG_FORMAT: 'json' }), E.right('json'));
  t.deepEqual(logFormatFor(false, { LOG_FORMAT: 'pretty' }), E.right('pretty'));
  t.deepEqual(logFormatFor(true, { LOG_FORMAT: 'pretty' }), E.right('pretty'));
});

test('an unknown LOG_FORMAT is named, not ignored', (t) => {
  t.deepEqual(logFormatFor(true, { LOG_FORMAT: 'JSON' }), E.left('LOG_FORMAT must be json or pretty, got "JSON"'));
});
