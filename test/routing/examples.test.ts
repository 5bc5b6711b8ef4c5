import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import {
  learnFromExamples,
  loadRoutingExamples,
  type ExampleRouter,
  type LabelledTask,
} from '../../src/routing/examples.js';
import { DEFAULT_SIGNALS_FILE, loadRoutingSignals, ROUTES, type Route } from '../../src/routing/signals.js';
import { analyzeWithExamples } from '../../src/routing/with-examples.js';

const loaded = loadRoutingSignals(DEFAULT_SIGNALS_FILE);
if (E.isLeft(loaded)) throw new Error(loaded.left);
const signals = loaded.right;

/** A few labelled tasks per route, in the words each kind of work is asked for. */
const EXAMPLES: LabelledTask[] = [
  { route: 'builder', title: 'Rename the export button', description: 'the button says Exprot, rename it' },
  { route: 'builder', title: 'Add a currency column to the refunds export', description: 'just add the column' },
  { route: 'builder', title: 'Return 404 for unknown invoice ids', description: 'it answers 500 today' },
  { route: 'pm', title: 'Which plans get the new discount?', description: 'we need rules for who is eligible' },
  { route: 'pm', title: 'Write user stories for the loyalty programme', description: 'what do members get' },
  { route: 'pm', title: 'Decide the refund policy for annual plans', description: 'customers keep asking' },
  { route: 'architect', title: 'Split billing into its own service', description: 'boundaries and data ownership' },
  { route: 'architect', title: 'Choose a queue for order events', description: 'kafka or sqs, ordering matters' },
  { route: 'architect', title: 'Move uploads to object storage', description: 'migration plan and consistency' },
  { route: 'party-mode', title: 'Make onboarding better', description: 'not sure where to start, lots of ideas' },
  { route: 'party-mode', title: 'Rethink the whole checkout', description: 'everything feels slow and confusing' },
  { route: 'party-mode', title: 'Improve the mobile experience', description: 'many teams, no clear owner yet' },
];
const router = learnFromExamples(EXAMPLES);

/** An examples router that says the same of every task: each route's log2 odds, ranked best first. */
const leaning =
  (odds: Record<Route, number>, terms: string[] = []): ExampleRouter =>
  () => ({
    ranked: ROUTES.map((route) => ({ route, logOdds: odds[route] })).sort((a, b) => b.logOdds - a.logOdds),
    terms,
  });

test('the examples route a task worded like theirs, and name the words that lean that way', (t) => {
  const opinion = router({ title: 'Rename the import button', description: 'it says Improt' })!;
  t.is(opinion.ranked[0]!.route, 'builder');
  t.is(opinion.ranked.length, 4);
  t.true(opinion.terms.includes('rename'), opinion.terms.join(', '));
  t.is(router({ title: 'zzz qqq', description: '' }), undefined, 'no known word: the examples say nothing');
});

test('when the examples and the signals agree the gateway may confirm itself; when they differ or the signals are unsure, a person is asked', (t) => {
  const agreed = analyzeWithExamples(
    { title: 'Fix the footer typo', description: 'rename it' },
    signals,
    leaning({ architect: -3, pm: -2, builder: 9, 'party-mode': -4 }, ['typo']),
  );
  t.like(agreed, { suggested: 'builder', decided_by: 'examples' });
  t.true(agreed.confidence >= 0.8 && agreed.confidence <= 0.95, String(agreed.confidence));
  t.regex(agreed.reason, /reads like the labelled examples of builder work \("typo"\), and the signals agree/);

  const differing = analyzeWithExamples(
    { title: 'Fix the footer typo', description: '' },
    signals,
    leaning({ architect: -3, pm: 20, builder: 1, 'party-mode': -4 }),
  );
  t.like(differing, { suggested: 'pm', decided_by: 'examples' });
  t.true(differing.confidence < 0.8, String(differing.confidence));
  t.regex(differing.reason, /but the signals said builder, so a person confirms/);

  const unsure = analyzeWithExamples(
    { title: 'Tidy things up', description: '' },
    signals,
    leaning({ architect: -3, pm: -4, builder: 1, 'party-mode': 20 }),
  );
  t.true(unsure.confidence < 0.8, 'no signal matched: that is no agreement');
  t.regex(unsure.reason, /the signals are unsure, so a person confirms/);
});

test('the examples and the signals choose together: strong signals outweigh a slight lean of the examples, and a person confirms', (t) => {
  const task = { title: 'Fix the footer typo', description: '' };
  const leaningToPm = leaning({ architect: -3, pm: 5, builder: 0, 'party-mode': -4 }, ['footer']);
  const together = analyzeWithExamples(task, signals, leaningToPm);
  t.like(together, { suggested: 'builder', decided_by: 'examples' });
  t.true(together.confidence < 0.8, String(together.confidence));
  t.regex(
    together.reason,
    /the labelled examples lean to pm work but, weighed with its signals, builder scores higher, so a person confirms/,
  );
  t.like(
    analyzeWithExamples(task, signals, leaningToPm, { signalsWeight: 0 }),
    { suggested: 'pm' },
    'the examples alone would say pm',
  );
});

test('agreeing by a narrow lead is not enough for the gateway to confirm itself', (t) => {
  const task = { title: 'Fix the footer typo', description: 'rename it' };
  const leaningToBuilder = leaning({ architect: -3, pm: -2, builder: 9, 'party-mode': -4 }, ['typo']);
  t.true(analyzeWithExamples(task, signals, leaningToBuilder).confidence >= 0.8);
  const narrow = analyzeWithExamples(task, signals, leaningToBuilder, { minLead: 100 });
  t.like(narrow, { suggested: 'builder', decided_by: 'examples' });
  t.true(narrow.confidence < 0.8, String(narrow.confidence));
  t.regex(narrow.reason, /and the signals agree, but not by a clear margin, so a person confirms/);
});

test('in doubt the architect looks first: another route must beat it by a clear margin, else a person confirms the architect', (t) => {
  const task = { title: 'Tidy things up', description: '' };
  const closeBehind = leaning({ architect: 4.5, pm: -4, builder: 5, 'party-mode': -6 });
  const kept = analyzeWithExamples(task, signals, closeBehind);
  t.like(kept, { suggested: 'architect', confidence: 0.3, decided_by: 'examples' });
  t.regex(kept.reason, /lean to builder work, but the architect scores close behind/);
  t.regex(kept.reason, /goes to the architect when in doubt, so a person confirms/);
  t.like(analyzeWithExamples(task, signals, closeBehind, { architectMargin: 0 }), { suggested: 'builder' });
  t.like(
    analyzeWithExamples(task, signals, leaning({ architect: -9, pm: -4, builder: 5, 'party-mode': -6 })),
    { suggested: 'builder' },
    'far behind: the architect does not take it',
  );
});

test('the security rule comes first: the examples are not asked, and without examples the signals decide', (t) => {
  let asked = 0;
  const security = analyzeWithExamples(
    { title: 'Fix SQL injection in the search endpoint', description: '' },
    signals,
    () => {
      asked++;
      return undefined;
    },
  );
  t.like(security, { suggested: 'architect', security_first: true, decided_by: 'signals' });
  t.is(asked, 0);
  t.like(analyzeWithExamples({ title: 'Fix the footer typo', description: '' }, signals, undefined), {
    suggested: 'builder',
    decided_by: 'signals',
  });
});

test('an examples file with a bad entry is refused naming the file and the field; a missing file too', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'examples-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, '- route: wizard\n  title: Do magic\n- title: No route\n');
  const refused = loadRoutingExamples([bad]);
  t.true(E.isLeft(refused));
  const message = E.isLeft(refused) ? refused.left : '';
  t.regex(message, /invalid routing examples in .*bad\.yaml/);
  t.regex(message, /\[0\]\.route: expected architect \| pm \| builder \| party-mode/);
  t.regex(message, /\[1\]\.route: required/);
  t.regex(E.isLeft(loadRoutingExamples([join(dir, 'none.yaml')])) ? 'refused' : 'read', /refused/);
  const good = join(dir, 'good.yaml');
  writeFileSync(good, '- route: pm\n  title: Pricing for teams\n  description: null\n');
  t.deepEqual(loadRoutingExamples([good]), E.right([{ route: 'pm', title: 'Pricing for teams', description: null }]));
});
