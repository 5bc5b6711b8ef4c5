import test from 'ava';
import { assembleCapabilities } from '../../src/capability/assemble.js';
import { documentsView, type Capability, type CapabilityModule, type Shared } from '../../src/capability/capability.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import type { DocumentProjection, Projection } from '../../src/projections/projection.js';

const documents = (name: string): DocumentProjection<{ n: number }> => ({
  name,
  documentIdsOf: () => [],
  evolve: (view) => view,
});
const fold: Projection<number> = { name: 'count', initialState: () => 0, evolve: (state) => state + 1 };

/** Nothing here starts a runner or reads the log: the base is only handed through. */
const base = {
  cwd: '/nowhere',
  runtimeOptions: {},
  admitNewWork: undefined,
} as unknown as Omit<Shared, 'viewOf' | 'use'>;
const config = {} as GatewayConfig;

test('each capability is created once, a capability used by another before its turn included, in the list order otherwise', (t) => {
  const created: string[] = [];
  const labs: CapabilityModule<Capability & { readonly cluster: string }> = {
    name: 'labs',
    events: [],
    views: [],
    create: () => {
      created.push('labs');
      return { cluster: 'the cluster' };
    },
  };
  let seen: string | undefined;
  const deployments: CapabilityModule = {
    name: 'deployments',
    events: [],
    views: [],
    create: (_config, shared) => {
      created.push('deployments');
      seen = shared.use(labs).cluster;
      return {};
    },
  };
  const sessions: CapabilityModule = {
    name: 'sessions',
    events: [],
    views: [],
    create: () => (created.push('sessions'), {}),
  };
  const { capabilities } = assembleCapabilities([sessions, deployments, labs], config, base);
  t.deepEqual(created, ['sessions', 'deployments', 'labs']);
  t.is(seen, 'the cluster');
  t.is(capabilities.length, 3);
});

test('a capability that needs itself, through another or not, is named instead of recursing', (t) => {
  const a: CapabilityModule = { name: 'a', events: [], views: [], create: (_c, shared) => shared.use(b) };
  const b: CapabilityModule = { name: 'b', events: [], views: [], create: (_c, shared) => shared.use(a) };
  t.throws(() => assembleCapabilities([a, b], config, base), {
    message: 'the capability a needs itself to be created',
  });
});

test('one runner per view: declared or read through viewOf, by one capability or several; a fold of the whole log gets its own', (t) => {
  const sessionsView = documents('session-views');
  const readOnly = documents('read-only');
  const runnersSeen: unknown[] = [];
  const sessions: CapabilityModule = {
    name: 'sessions',
    events: [],
    views: [
      documentsView(sessionsView, 'sessions'),
      { kind: 'fold', projection: fold as Projection<unknown>, describe: () => ({ count: 0, text: '' }) },
    ],
    create: (_config, shared) => (runnersSeen.push(shared.viewOf(sessionsView)), {}),
  };
  const slack: CapabilityModule = {
    name: 'slack',
    events: [],
    views: [],
    create: (_config, shared) => (runnersSeen.push(shared.viewOf(sessionsView), shared.viewOf(readOnly)), {}),
  };
  const { views } = assembleCapabilities([sessions, slack], config, base);
  t.deepEqual(
    views.map((view) => view.name),
    ['session-views', 'read-only', 'count'],
  );
  t.is(runnersSeen[0], runnersSeen[1], 'both capabilities read the same running view');
  t.is(runnersSeen[2], views[1]);
});
