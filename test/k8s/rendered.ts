import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const K8S = join(process.cwd(), 'k8s');

export type Manifest = Record<string, any>;

const documents = (text: string): Manifest[] => parseAllDocuments(text).map((document) => document.toJS() as Manifest);

/** What `kubectl apply -k k8s/` would send: kustomize's output (kubectl's built-in kustomize). */
export const rendered: readonly Manifest[] = documents(
  execFileSync('kubectl', ['kustomize', K8S], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }),
);

/** The example Secrets, which kustomize leaves out (an operator creates the real ones). */
export const exampleSecrets: readonly Manifest[] = documents(readFileSync(join(K8S, 'secret.example.yaml'), 'utf8'));

export const byKind = (kind: string): Manifest[] => rendered.filter((manifest) => manifest['kind'] === kind);
