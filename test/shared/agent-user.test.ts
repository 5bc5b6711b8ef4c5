import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentUserOf, handOver, keepGatewayStateFromAgent, unreachableFolderOn } from '../../src/shared/agent-user.js';

const AGENT = { uid: 65534, gid: 65534 };
const asRoot = process.getuid?.() === 0;
const on = { enabled: true, url: '', run_as: '65534:65534' };

const scratch = (t: { teardown: (f: () => void) => void }): string => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-user-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const modeOf = (path: string): number => statSync(path).mode & 0o7777;

test('the agent has a user of its own only when the gateway runs its own OpenCode as root', (t) => {
  t.deepEqual(agentUserOf(on, 0), { uid: 65534, gid: 65534 });
  t.deepEqual(agentUserOf({ ...on, run_as: '1500:20' }, 0), { uid: 1500, gid: 20 });
  t.is(agentUserOf(on, 1000), undefined, 'only root can start a process as someone else');
  t.is(agentUserOf({ ...on, run_as: '' }, 0), undefined, 'run_as empty keeps root');
  t.is(
    agentUserOf({ ...on, url: 'http://127.0.0.1:4096' }, 0),
    undefined,
    'a server of its own: not the gateway’s to run',
  );
  t.is(agentUserOf({ ...on, enabled: false }, 0), undefined);
});

test('a folder the agent’s user cannot pass through is named; one it can is not', (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'open', 'deep'), { recursive: true });
  mkdirSync(join(dir, 'closed', 'deep'), { recursive: true });
  chmodSync(dir, 0o711);
  chmodSync(join(dir, 'open'), 0o755);
  chmodSync(join(dir, 'closed'), 0o700);
  return Promise.all([
    unreachableFolderOn(join(dir, 'open', 'deep', 'file'), AGENT).then((blocked) => t.is(blocked, undefined)),
    unreachableFolderOn(join(dir, 'closed', 'deep', 'file'), AGENT).then((blocked) =>
      t.is(blocked, join(dir, 'closed')),
    ),
  ]);
});

(asRoot ? test : test.skip)(
  'the data folder is the gateway’s: 0711 around the agent’s folders, everything else 0700/0600; its folders must be reachable (needs root)',
  async (t) => {
    const root = scratch(t);
    chmodSync(root, 0o755);
    const data = join(root, 'data');
    mkdirSync(join(data, 'events'), { recursive: true });
    mkdirSync(join(data, 'workspace', '.builders'), { recursive: true });
    writeFileSync(join(data, 'idempotency.sqlite'), 'records');
    writeFileSync(join(data, 'kubeconfig.yaml'), 'cluster keys');
    await keepGatewayStateFromAgent(AGENT, {
      dataDir: data,
      privateFolders: [join(data, 'workspace', 'repos'), join(data, 'bundles')],
      agentFolders: [join(data, 'workspace', '.builders')],
    });
    t.is(modeOf(data), 0o711, 'passable to the workspace, not listable');
    t.is(modeOf(join(data, 'events')), 0o700);
    t.is(modeOf(join(data, 'idempotency.sqlite')), 0o600);
    t.is(modeOf(join(data, 'kubeconfig.yaml')), 0o600);
    t.is(modeOf(join(data, 'bundles')), 0o700, 'made private before anything is put in it');
    t.is(modeOf(join(data, 'workspace', 'repos')), 0o700, 'the clones');
    // Without agent folders inside, the data folder is closed altogether.
    const alone = join(root, 'alone');
    await keepGatewayStateFromAgent(AGENT, { dataDir: alone, privateFolders: [], agentFolders: [] });
    t.is(modeOf(alone), 0o700);
    // A workspace the agent cannot reach stops the start, naming the folder in the way.
    const hidden = join(root, 'hidden');
    mkdirSync(hidden, { mode: 0o700 });
    const error = await t.throwsAsync(() =>
      keepGatewayStateFromAgent(AGENT, { dataDir: alone, privateFolders: [], agentFolders: [join(hidden, 'ws')] }),
    );
    t.regex(error.message, new RegExp(`cannot pass through ${hidden} `));
  },
);

(asRoot ? test : test.skip)(
  'handing a folder over changes everything in it, and never what a link in it points to (needs root)',
  async (t) => {
    const root = scratch(t);
    const outside = join(root, 'outside.txt');
    writeFileSync(outside, 'not the agent’s');
    const folder = join(root, 'workspace');
    mkdirSync(join(folder, 'repos', 'api'), { recursive: true });
    writeFileSync(join(folder, 'repos', 'api', 'index.js'), '');
    symlinkSync(outside, join(folder, 'link'));
    await handOver(folder, AGENT);
    for (const path of [folder, join(folder, 'repos'), join(folder, 'repos', 'api', 'index.js')])
      t.is(statSync(path).uid, AGENT.uid, path);
    t.is(statSync(outside).uid, 0, 'the link’s target stays the gateway’s');
  },
);
