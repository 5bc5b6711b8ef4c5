import test from 'ava';
import * as io from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { formatValidationProblems, reportValidationErrors } from '../../src/events/validation-report.js';

const Body = io.type({
  task: io.type({ title: io.string, priority: io.union([io.literal('low'), io.literal('high')]) }),
  repos: io.array(io.type({ name: io.string })),
  token: io.string,
  labels: io.intersection([io.type({ a: io.number }), io.partial({ b: io.boolean })]),
});

const problemsOf = (value: unknown) => {
  const decoded = Body.decode(value);
  if (E.isRight(decoded)) throw new Error('expected a failure');
  return reportValidationErrors(decoded.left);
};

test('every failing field is reported once with its path', (t) => {
  const problems = problemsOf({
    task: { title: 7, priority: 'urgent' },
    repos: [{ name: 'ok' }, { name: false }],
    labels: { a: 'x', b: 'y' },
  });
  const paths = problems.map((problem) => problem.path).sort();
  t.deepEqual(paths, ['labels.a', 'labels.b', 'repos[1].name', 'task.priority', 'task.title', 'token'].sort());
  const byPath = new Map(problems.map((problem) => [problem.path, problem.message]));
  t.is(byPath.get('task.title'), 'expected string, got a number');
  t.is(byPath.get('token'), 'required string');
  t.is(byPath.get('task.priority'), 'expected ("low" | "high"), got a string');
});

test('the bad value itself is never echoed (it may be a secret)', (t) => {
  const problems = problemsOf({
    task: { title: 's3cr3t-value', priority: 'low' },
    repos: [],
    token: 12345,
    labels: { a: 1 },
  });
  t.deepEqual(problems, [{ path: 'token', message: 'expected string, got a number' }]);
  t.false(JSON.stringify(problems).includes('12345'));
});

test('a codec message is kept together with its path', (t) => {
  const Positive = io.refinement(io.number, (n) => n > 0, 'Positive');
  const Custom = new io.Type<number, number, unknown>(
    'Even',
    (u): u is number => typeof u === 'number' && u % 2 === 0,
    (u, c) => (typeof u === 'number' && u % 2 === 0 ? io.success(u) : io.failure(u, c, 'must be an even number')),
    (n) => n,
  );
  const decoded = io
    .type({ limits: io.type({ max: Positive, step: Custom }) })
    .decode({ limits: { max: -1, step: 3 } });
  if (E.isRight(decoded)) return t.fail('expected a failure');
  t.deepEqual(formatValidationProblems(reportValidationErrors(decoded.left)), [
    'limits.max: expected Positive, got a number',
    'limits.step: must be an even number',
  ]);
});

test('a failure at the root has an empty path', (t) => {
  const decoded = Body.decode('not an object');
  if (E.isRight(decoded)) return t.fail('expected a failure');
  const problems = reportValidationErrors(decoded.left);
  t.is(problems.length, 1);
  t.is(problems[0]?.path, '');
  t.regex(formatValidationProblems(problems)[0] ?? '', /^expected .*got a string$/);
});
