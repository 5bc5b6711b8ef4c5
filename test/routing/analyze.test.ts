import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { analyzeRoute } from '../../src/routing/analyze.js';
import { DEFAULT_SIGNALS_FILE, loadRoutingSignals, type RoutingSignals } from '../../src/routing/signals.js';

const loaded = loadRoutingSignals(DEFAULT_SIGNALS_FILE);
if (E.isLeft(loaded)) throw new Error(loaded.left);
const signals: RoutingSignals = loaded.right;

test('security work goes to the architect, and the reason names the deciding terms', (t) => {
  const analysis = analyzeRoute(
    {
      title: 'Add OAuth login',
      description: 'Users should sign in with Google; we must store tokens securely with encryption.',
    },
    signals,
  );
  t.is(analysis.suggested, 'architect');
  t.regex(
    analysis.reason,
    /^Suggested architect: security-sensitive work goes to the architect first, because of "oauth" \(\+4\.5\)/,
  );
  t.true(analysis.signals.some((signal) => signal.route === 'architect' && signal.term === 'encryption'));
  t.true(analysis.confidence > 0 && analysis.confidence <= 1);
});

test('the seed’s first rule comes first: security work phrased as a small fix still goes to the architect', (t) => {
  for (const task of [
    { title: 'Fix SQL injection in the report search endpoint', description: '' },
    { title: 'quick bug: password reset links never expire', description: 'one-line fix probably' },
    { title: 'Rotate the JWT signing keys without logging users out', description: '' },
    { title: 'Add rate limiting to the public API', description: '' },
  ]) {
    const analysis = analyzeRoute(task, signals);
    t.is(analysis.suggested, 'architect', task.title);
    t.regex(analysis.reason, /security-sensitive work goes to the architect first/, task.title);
  }
  // One word that is also something else (a token, a session) does not make work security work.
  const weak = analyzeRoute({ title: 'Rename the session column', description: '' }, signals);
  t.is(weak.suggested, 'builder');
  t.notRegex(weak.reason, /security-sensitive/);
});

test('terms match by stem and on word boundaries only', (t) => {
  t.is(
    analyzeRoute({ title: 'Write user stories', description: '' }, signals).suggested,
    'pm',
    'stories matches "user story"',
  );
  const substring = analyzeRoute({ title: 'Update the authorship footer', description: '' }, signals);
  t.false(
    substring.signals.some((signal) => signal.term === 'auth'),
    '"authorship" is not "auth"',
  );
});

test('a negated term does not count, and the reason says it was ignored', (t) => {
  const analysis = analyzeRoute(
    { title: 'Add a nickname field', description: 'Small change to the profile form, no auth change needed.' },
    signals,
  );
  t.is(analysis.suggested, 'builder');
  t.false(analysis.signals.some((signal) => signal.term === 'auth'));
  t.regex(analysis.reason, /ignored negated "auth"/);
});

test('title matches weigh more than description matches', (t) => {
  const inTitle = analyzeRoute({ title: 'roadmap', description: '' }, signals);
  const inDescription = analyzeRoute({ title: 'x', description: 'roadmap' }, signals);
  t.is(inTitle.scores.pm, 4.5);
  t.is(inDescription.scores.pm, 3);
});

test('breadth, length and conflicting signals point to party mode', (t) => {
  const broad = analyzeRoute(
    { title: 'Sync settings', description: 'Touches the frontend, backend, database, mobile and notifications.' },
    signals,
  );
  t.true(broad.signals.some((signal) => signal.term.startsWith('5 components')));
  t.true(broad.scores['party-mode'] > 0);
  const long = analyzeRoute(
    { title: 'Notes', description: Array.from({ length: 220 }, () => 'word').join(' ') },
    signals,
  );
  t.true(long.signals.some((signal) => signal.term.startsWith('long description')));
  const conflicting = analyzeRoute({ title: 'pricing bug fix', description: '' }, signals);
  t.true(conflicting.signals.some((signal) => signal.term === 'conflicting signals'));
});

test('with no signal at all the work goes to party mode with low confidence', (t) => {
  const analysis = analyzeRoute({ title: 'Hmm', description: 'Please have a look.' }, signals);
  t.is(analysis.suggested, 'party-mode');
  t.is(analysis.confidence, 0.2);
  t.regex(analysis.reason, /No routing signal matched/);
  t.deepEqual(analysis.scores, { architect: 0, pm: 0, builder: 0, 'party-mode': 0 });
});

test('a clear, strong signal is more confident than a close call', (t) => {
  const clear = analyzeRoute(
    { title: 'Threat model and encryption for SSO', description: 'Security review of authentication.' },
    signals,
  );
  const close = analyzeRoute({ title: 'Fix the pricing rule bug', description: '' }, signals);
  t.true(clear.confidence > close.confidence);
});

test('a broken signals file is refused with what is wrong', (t) => {
  const result = loadRoutingSignals('/nonexistent/signals.yaml');
  t.true(E.isLeft(result));
  if (E.isLeft(result)) t.regex(result.left, /cannot read routing signals/);
});
