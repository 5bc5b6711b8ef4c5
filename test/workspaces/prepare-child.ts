import { prepareWorkspace, type RepoSpec } from '../../src/workspaces/git-workspace.js';

/** Runs one workspace initialization, for the crash test to kill: argv is basePath, reposRoot, builder, repos as JSON. */
const [basePath, reposRoot, builder, reposJson] = process.argv.slice(2) as [string, string, string, string];
await prepareWorkspace({ basePath, reposRoot, builder, repos: JSON.parse(reposJson) as RepoSpec[] });
process.stdout.write('done\n');
