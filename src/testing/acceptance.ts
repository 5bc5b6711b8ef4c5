import type { LabManifest } from '../labs/lab-manifest.js';
import { notRun, tailOf, type Suite } from './results.js';

type Check = NonNullable<LabManifest['acceptance']>[number];

/**
 * A check's path under the lab's URL, keeping the URL's own path: a lab reached through a proxy
 * (`…/services/app:80/proxy`) has its root there, not at the host's root.
 */
const underBase = (labUrl: string, path: string): URL => {
  const base = labUrl.endsWith('/') ? labUrl : `${labUrl}/`;
  return new URL(path.replace(/^\/+/, ''), base);
};

const outcomeOf = async (check: Check, labUrl: string, signal: AbortSignal): Promise<string | undefined> => {
  const expected = check.expect_status ?? 200;
  let response: Response;
  try {
    response = await fetch(underBase(labUrl, check.path), {
      method: check.method ?? 'GET',
      ...(check.body === undefined ? {} : { body: check.body, headers: { 'content-type': 'application/json' } }),
      signal,
      redirect: 'manual',
    });
  } catch (error) {
    return `${check.method ?? 'GET'} ${check.path} could not be sent: ${signal.aborted ? 'timed out' : error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`;
  }
  const body = await response.text();
  if (response.status !== expected) return `expected HTTP ${expected}, got ${response.status}`;
  if (check.expect_body !== undefined && !body.includes(check.expect_body))
    return `the body does not contain ${JSON.stringify(check.expect_body)}`;
  return undefined;
};

/**
 * The acceptance suite: the critical flows the lab manifest declares, checked by the gateway
 * itself over HTTP against the lab (request → expected status, and a text the body must hold).
 */
export const runAcceptance = async (
  checks: readonly Check[] | undefined,
  labUrl: string,
  timeoutMs: number,
): Promise<{ suite: Suite; log: string }> => {
  if (!checks || checks.length === 0)
    return { suite: notRun('the lab manifest declares no acceptance checks'), log: '' };
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const failures: { name: string; message: string }[] = [];
  const lines: string[] = [];
  for (const check of checks) {
    const failure = await outcomeOf(check, labUrl, signal);
    lines.push(
      `${failure ? 'FAIL' : 'ok  '} ${check.name}: ${check.method ?? 'GET'} ${check.path}${failure ? ` — ${failure}` : ''}`,
    );
    if (failure) failures.push({ name: check.name, message: failure });
  }
  const log = lines.join('\n');
  return {
    suite: {
      passed: failures.length === 0,
      total: checks.length,
      failed: failures.length,
      skipped: 0,
      duration_ms: Math.round(performance.now() - started),
      failures,
      log_tail: tailOf(log),
    },
    log,
  };
};
