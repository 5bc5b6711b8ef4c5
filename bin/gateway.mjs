#!/usr/bin/env node
// `npx gateway <command>`: the audit and replay CLI (src/audit/cli.ts). tsx is registered here,
// resolved from this project's node_modules, so it works from any folder and needs no build.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/audit/cli.ts');

// `gateway export | head`: the reader left; that is not a failure.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
// Exit once stdout has taken everything; open sockets (fetch's keep-alive) must not hold the process.
process.stdout.write('', () => process.exit(code));
