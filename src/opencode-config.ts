import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { openCodeConfigContent } from './agents/opencode-config.js';
import { loadPersonas } from './agents/personas.js';
import { formatConfigError, loadConfig } from './config/load.js';

/**
 * `node dist/src/opencode-config.js <file>`: writes the configuration the gateway gives the
 * OpenCode server it runs itself (the personas as agents, the provider and model of
 * `opencode.config` and GATEWAY_OPENCODE_CONFIG), for one it does not run: in k8s/ an init
 * container writes it, with none of the gateway's secrets, and the OpenCode sidecar reads it as
 * OPENCODE_CONFIG. Provider keys stay `{env:NAME}` references, resolved in OpenCode's container.
 */
const writeOpenCodeConfig = (file: string | undefined): string | undefined => {
  if (file === undefined) return 'usage: opencode-config <file to write>';
  const loaded = loadConfig();
  if (E.isLeft(loaded)) return formatConfigError(loaded.left);
  const personas = loadPersonas(resolve(loaded.right.opencode.personas_dir));
  if (E.isLeft(personas)) return personas.left;
  const content = openCodeConfigContent(loaded.right.opencode.config, personas.right);
  writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o644 });
  process.stdout.write(`opencode-config: wrote ${file}\n`);
  return undefined;
};

const problem = writeOpenCodeConfig(process.argv[2]);
if (problem !== undefined) {
  process.stderr.write(`opencode-config: ${problem}\n`);
  process.exit(2);
}
