import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { commitEverything, startBenchGateway } from './bench-gateway.js';
import type { Figure } from './eventstore.js';

const TOKEN = 'bench-operator-token-0123456789';
const ROUNDS = 5;

/** `median (min–max) ms` of the rounds. */
const spread = (values: readonly number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms median (${sorted[0]!.toFixed(0)}–${sorted.at(-1)!.toFixed(0)}) of ${sorted.length}`;
};

/** A repository of `files` small files in 20 folders, one commit. */
const makeRepo = async (path: string, files: number): Promise<void> => {
  await simpleGit().raw(['init', '-q', '-b', 'main', path]);
  for (let i = 0; i < files; i++) {
    const folder = join(path, `src${i % 20}`);
    if (i < 20) await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `file${i}.ts`), `export const value${i} = ${i};\n`);
  }
  await commitEverything(path);
};

/**
 * Time from POST /api/sessions to the session's WorkspaceInitialized (seen as the view leaving
 * `initializing`), for 1 and 5 repositories of 1,000 files, beside the raw `git worktree add`
 * of the same repositories measured in the same run.
 */
export const benchWorkspaces = async (): Promise<Figure[]> => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-workspaces-'));
  const figures: Figure[] = [];
  try {
    const reposRoot = join(dir, 'repos');
    for (let i = 0; i < 5; i++) await makeRepo(join(reposRoot, `repo${i}`), 1000);
    // Writing the repositories left dirty pages; flushed first so they don't slow whatever runs next.
    execFileSync('sync');
    // This machine's disk varies by a factor of several between moments: each figure is the median of ROUNDS.
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const rawStart = performance.now();
      await simpleGit(join(reposRoot, 'repo0')).raw([
        'worktree',
        'add',
        '-q',
        '-b',
        `raw-probe-${round}`,
        join(dir, `raw-probe-${round}`),
        'HEAD',
      ]);
      raw.push(performance.now() - rawStart);
    }
    figures.push({
      name: 'raw git worktree add, 1 repo of 1,000 files (physical limit)',
      value: spread(raw),
      target: '—',
      met: undefined,
    });

    const gateway = await startBenchGateway(dir, TOKEN, {
      workspace: { base_path: join(dir, 'builders'), repos_root: reposRoot },
    });
    try {
      for (const count of [1, 5]) {
        const times: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const t0 = performance.now();
          const response = await fetch(`${gateway.url}/api/sessions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              category: 'bench',
              project: `p${count}-${round}`,
              repos: Array.from({ length: count }, (_, i) => ({ name: `repo${i}` })),
              task: { title: 'Improve things', description: 'Look.' },
            }),
          });
          const { session_id } = (await response.json()) as { session_id: string };
          let status = 'initializing';
          while (status === 'initializing') {
            status = (
              (await (
                await fetch(`${gateway.url}/api/sessions/${session_id}`, {
                  headers: { authorization: `Bearer ${TOKEN}` },
                })
              ).json()) as { status: string }
            ).status;
            if (status === 'initializing') await new Promise((resolve) => setTimeout(resolve, 2));
          }
          if (status !== 'awaiting_route') throw new Error(`session ${session_id} ended ${status}`);
          times.push(performance.now() - t0);
        }
        figures.push({
          name: `POST /api/sessions → WorkspaceInitialized, ${count} repo${count === 1 ? '' : 's'} of 1,000 files`,
          value: spread(times),
          target: '—',
          met: undefined,
        });
      }
    } finally {
      await gateway.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
};
