import test from 'ava';
import { CloneFailedError, FetchFailedError } from '../../src/workspaces/clone.js';
import { MissingRefError, RefMismatchError, UnknownRepoError } from '../../src/workspaces/git-workspace.js';
import { InvalidNameError } from '../../src/workspaces/names.js';
import { RepoUrlRefusedError } from '../../src/shared/repo-url.js';
import { TaskInitError } from '../../src/workspaces/task-init.js';
import { classifyWorkspaceError } from '../../src/workspaces/workspace-failure.js';

test('what retrying cannot fix fails at once, with what git or the task printed', (t) => {
  t.deepEqual(classifyWorkspaceError(new MissingRefError('api', 'develop')), {
    permanent: true,
    reason: 'ref develop does not exist in repo api',
  });
  t.deepEqual(
    classifyWorkspaceError(
      new CloneFailedError(
        'repo web: cloning https://h/web.git failed: fatal: unable to access',
        'fatal: unable to access',
      ),
    ),
    {
      permanent: true,
      reason: 'repo web: cloning https://h/web.git failed: fatal: unable to access',
      output: 'fatal: unable to access',
    },
  );
  t.deepEqual(classifyWorkspaceError(new TaskInitError('task builder:init failed with exit code 4', 'no toolchain')), {
    permanent: true,
    reason: 'task builder:init failed with exit code 4',
    output: 'no toolchain',
  });
  // A fetch of a clone is a clone's conversation with the same server: it fails the same way.
  t.deepEqual(
    classifyWorkspaceError(new FetchFailedError('repo web: fetching https://h/web.git failed: 500', 'error: 500')),
    { permanent: true, reason: 'repo web: fetching https://h/web.git failed: 500', output: 'error: 500' },
  );
  for (const error of [
    new RefMismatchError('api', 'main', 'b'.repeat(40), 'builder/platform-billing', 'a'.repeat(40)),
    new UnknownRepoError('ghost', '/r'),
    new InvalidNameError('ref', '--x', 'a git ref name'),
    new RepoUrlRefusedError('not allowed', 'repo web (file:///etc)'),
  ]) {
    t.true(classifyWorkspaceError(error).permanent, error.name);
  }
});

test('anything else may pass (a git lock, EAGAIN, the unforeseen): tried again, keeping its words for the last reason', (t) => {
  const busy = Object.assign(new Error('repo api: EAGAIN: resource temporarily unavailable, open'), { code: 'EAGAIN' });
  t.deepEqual(classifyWorkspaceError(busy), {
    permanent: false,
    reason: 'repo api: EAGAIN: resource temporarily unavailable, open',
  });
  t.deepEqual(
    classifyWorkspaceError(new Error("repo api: fatal: Unable to create '/r/api/.git/index.lock': File exists.\n")),
    {
      permanent: false,
      reason: "repo api: fatal: Unable to create '/r/api/.git/index.lock': File exists.",
    },
  );
  t.deepEqual(classifyWorkspaceError('thrown as a string'), { permanent: false, reason: 'thrown as a string' });
});
