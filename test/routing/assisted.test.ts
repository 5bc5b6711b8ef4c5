import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { suggestRoute, type AssistSettings, type SecondOpinion } from '../../src/routing/assisted.js';
import { DEFAULT_SIGNALS_FILE, loadRoutingSignals } from '../../src/routing/signals.js';

const loaded = loadRoutingSignals(DEFAULT_SIGNALS_FILE);
if (E.isLeft(loaded)) throw new Error(loaded.left);
const signals = loaded.right;
/** The model-assist logic over the signals alone (the labelled examples have their own tests). */
const bySignalsAlone = { signals, examples: undefined };
const ALWAYS: AssistSettings = { mode: 'always', threshold: 0.8, timeoutMs: 200 };
const VAGUE = { title: 'Things are weird with the nightly stuff', description: '' };
const CONFIDENT = { title: 'Fix typo in the footer', description: 'Copyrigth should be Copyright. Small fix.' };

/** A model that answers `text` (or fails, or never answers), counting the questions. */
const model = (answer: () => Promise<string>) => {
  const asked: string[] = [];
  const ask: SecondOpinion = (task) => {
    asked.push(task.title);
    return answer();
  };
  return { ask, asked };
};
const answering = (value: unknown) => model(async () => (typeof value === 'string' ? value : JSON.stringify(value)));

test('a right-shaped answer decides, and the reason says the model decided and what the signals said', async (t) => {
  const { ask } = answering({ route: 'pm', confidence: 0.7, reason: 'It is about who may do what.' });
  const analysis = await suggestRoute(VAGUE, bySignalsAlone, ALWAYS, ask);
  t.like(analysis, { suggested: 'pm', confidence: 0.7, decided_by: 'model', model_opinion: { route: 'pm' } });
  t.regex(
    analysis.reason,
    /^Suggested pm by the model's second opinion: It is about who may do what\. \(the signals said party-mode/,
  );
});

test('an answer wrapped in a code fence is still read', async (t) => {
  const { ask } = answering('```json\n{"route":"builder","confidence":0.6,"reason":"small"}\n```');
  t.like(await suggestRoute(VAGUE, bySignalsAlone, ALWAYS, ask), { suggested: 'builder', decided_by: 'model' });
});

test('wrong-shaped, not JSON, slow or failing: the signals’ answer stands, saying why', async (t) => {
  const heuristic = await suggestRoute(VAGUE, bySignalsAlone, { ...ALWAYS, mode: 'off' }, undefined);
  const cases: [string, SecondOpinion, RegExp][] = [
    ['wrong route', answering({ route: 'ceo', confidence: 0.9, reason: 'x' }).ask, /wrong shape/],
    ['extra field', answering({ route: 'pm', confidence: 0.9, reason: 'x', tools: 'bash' }).ask, /wrong shape/],
    ['confidence out of range', answering({ route: 'pm', confidence: 3, reason: 'x' }).ask, /wrong shape/],
    ['words', answering('I think PM.').ask, /not JSON/],
    ['slow', model(() => new Promise(() => undefined)).ask, /did not answer within 200 ms/],
    ['failing', model(() => Promise.reject(new Error('the model failed: 400'))).ask, /the model failed: 400/],
  ];
  for (const [name, ask, why] of cases) {
    const analysis = await suggestRoute(VAGUE, bySignalsAlone, ALWAYS, ask);
    t.like(analysis, { suggested: heuristic.suggested, confidence: heuristic.confidence, decided_by: 'signals' }, name);
    t.regex(analysis.model_error ?? '', why, name);
    t.regex(analysis.reason, /The model's second opinion was not used/, name);
  }
});

test('the model is asked only when configured, below the threshold for low_confidence, and never against the security rule', async (t) => {
  const { ask, asked } = answering({ route: 'pm', confidence: 0.9, reason: 'x' });
  t.like(await suggestRoute(VAGUE, bySignalsAlone, { ...ALWAYS, mode: 'off' }, ask), { decided_by: 'signals' });
  t.like(await suggestRoute(CONFIDENT, bySignalsAlone, { ...ALWAYS, mode: 'low_confidence' }, ask), {
    suggested: 'builder',
    decided_by: 'signals',
  });
  t.deepEqual(asked, []);
  t.like(await suggestRoute(VAGUE, bySignalsAlone, { ...ALWAYS, mode: 'low_confidence' }, ask), {
    decided_by: 'model',
  });
  t.like(await suggestRoute(CONFIDENT, bySignalsAlone, ALWAYS, ask), { decided_by: 'model' });
  t.is(asked.length, 2);
  const security = await suggestRoute(
    { title: 'Fix SQL injection in the search endpoint', description: '' },
    bySignalsAlone,
    ALWAYS,
    ask,
  );
  t.like(security, { suggested: 'architect', decided_by: 'signals', security_first: true });
  t.is(asked.length, 2, 'not asked: the model cannot overrule the security rule');
  t.like(
    await suggestRoute(VAGUE, bySignalsAlone, ALWAYS, undefined),
    { decided_by: 'signals' },
    'no model configured',
  );
});
