import { benchAgents } from './agents.js';
import { benchDeploy } from './deploy.js';
import { benchConcurrency } from './concurrency.js';
import { benchDisk } from './disk.js';
import { benchEdge } from './edge.js';
import { benchEventStore, type Figure } from './eventstore.js';
import { benchLabStart } from './lab-start.js';
import { benchRouting } from './routing.js';
import { benchSoak } from './soak.js';
import { benchWorkspaces } from './workspaces.js';

/**
 * `npm run bench [-- name]`: prints each figure beside its target and the physical limit
 * measured in the same run. Speed is never asserted in tests; it is measured here.
 */
const benchmarks: Record<string, () => Promise<Figure[]>> = {
  eventstore: () => benchEventStore(),
  workspaces: () => benchWorkspaces(),
  agents: () => benchAgents(),
  deploy: () => benchDeploy(),
  soak: () => benchSoak(),
  disk: () => benchDisk(),
  edge: () => benchEdge(),
  concurrency: () => benchConcurrency(),
  'lab-start': () => benchLabStart(),
  routing: () => benchRouting(),
};

const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const names = requested.length > 0 ? requested : Object.keys(benchmarks);
for (const name of names) {
  const bench = benchmarks[name];
  if (!bench) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(benchmarks).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n## ${name}  (${new Date().toISOString()}, Node ${process.version})\n`);
  const figures = await bench();
  const width = Math.max(...figures.map((f) => f.name.length));
  const valueWidth = Math.max(...figures.map((f) => f.value.length));
  for (const figure of figures) {
    const verdict = figure.met === undefined ? '' : figure.met ? 'met' : 'NOT MET';
    console.log(
      `${figure.name.padEnd(width)}  ${figure.value.padEnd(valueWidth)}  target ${figure.target.padEnd(20)} ${verdict}`,
    );
  }
}
