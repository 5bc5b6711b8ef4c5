import * as E from 'fp-ts/lib/Either.js';
import { toolEnv } from './install-steps.js';
import { LAB_MANIFEST, type LabManifest } from './lab-manifest.js';
import type { RuntimeKind } from './runtime-kind.js';
import { isCamelRoute, startCommand, type RepoTexts } from './start-commands.js';

export interface Runtime {
  readonly kind: RuntimeKind;
  readonly image: string;
  readonly command: readonly string[];
  readonly port: number;
  readonly healthPath: string;
  readonly env: Readonly<Record<string, string>>;
}

const DEFAULTS: Record<RuntimeKind, { image: string; port: number; healthPath: string }> = {
  uv: { image: 'ghcr.io/astral-sh/uv:python3.12-bookworm-slim', port: 8000, healthPath: '/' },
  'camel-jbang': { image: 'apache/camel-jbang:4.8.0', port: 8080, healthPath: '/q/health' },
  node: { image: 'node:20-slim', port: 3000, healthPath: '/' },
};

/**
 * The runtime a repository needs, from its files (Python: pyproject.toml or requirements.txt →
 * uv; Apache Camel routes → camel-jbang; Node: package.json → npm), unless its lab manifest says;
 * and how it starts, from what the repository declares (a manifest's `command` replaces it all,
 * install included). Why not, when either cannot be told: the plan says so before anything runs.
 */
export const detectRuntime = (files: RepoTexts, manifest: LabManifest): E.Either<string, Runtime> => {
  const paths = [...files.keys()];
  const detected: RuntimeKind | undefined =
    manifest.runtime ??
    (files.has('pyproject.toml') || files.has('requirements.txt')
      ? 'uv'
      : paths.some(isCamelRoute)
        ? 'camel-jbang'
        : files.has('package.json')
          ? 'node'
          : undefined);
  if (!detected)
    return E.left(
      `cannot tell how to run this repository: no pyproject.toml, requirements.txt, Camel route or package.json, and no "runtime" in ${LAB_MANIFEST}`,
    );
  const command = manifest.command ? E.right(manifest.command) : startCommand(detected, files);
  if (E.isLeft(command)) return command;
  const defaults = DEFAULTS[detected];
  return E.right({
    kind: detected,
    image: manifest.image ?? defaults.image,
    command: command.right,
    port: manifest.port ?? defaults.port,
    healthPath: manifest.health_path ?? defaults.healthPath,
    env: { ...toolEnv(detected), ...manifest.env },
  });
};
