import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { AttackContext, HostileCase, RawResponse } from './attack.js';
import { sendCase } from './attack.js';
import { eventually } from '../support/eventually.js';
import {
  AUDITOR,
  operatorToken,
  prepareGateway,
  SLACK_SECRET,
  snapshotOf,
  streamsOf,
  VIEWER,
  type PreparedGateway,
} from './prepared-gateway.js';

/**
 * One prepared gateway per test file, started in `test.before` and shared by the file's serial
 * tests. AVA refuses `t.teardown` in hooks, so the test gateway's clean-ups are collected here
 * and run in `test.after.always`, last registered first, as `t.teardown` would.
 */
export const sharedGateway = (): (() => PreparedGateway) => {
  let prepared: PreparedGateway | undefined;
  const teardowns: (() => unknown)[] = [];
  test.before(async () => {
    const hook = { teardown: (fn: () => unknown) => void teardowns.push(fn) } as unknown as ExecutionContext;
    prepared = await prepareGateway(hook);
  });
  test.after.always(async () => {
    for (const fn of teardowns.reverse()) await fn();
  });
  return () => {
    if (!prepared) throw new Error('the prepared gateway did not start');
    return prepared;
  };
};

/** Body members with a real value in the prepared state: a violation is then the only reason to refuse. */
export const attackContext = (prepared: PreparedGateway): AttackContext => {
  const members: Record<string, unknown> = {
    session_id: prepared.session.session_id,
    question_id: prepared.realParams('question_id')[0],
    category: prepared.session.category,
    project: prepared.session.project,
    name: 'api',
    title: 'Fix the typo in the footer',
    description: 'Small change.',
    route: 'builder',
  };
  return {
    realParams: prepared.realParams,
    realMember: (name) => members[name],
    bodyLimit: prepared.gateway.config.server.body_limit,
  };
};

/** Tallies of what the gateway answered, for the test's log. */
export class Tally {
  private readonly statuses = new Map<number, number>();
  sent = 0;
  add(response: RawResponse): void {
    this.sent++;
    this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
  }
  toString(): string {
    return `${this.sent} requests: ${[...this.statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status}×${count}`)
      .join(', ')}`;
  }
}

/** Nothing may reach Object.prototype, whatever the bodies and queries held (the gateway runs in this process). */
export const prototypeIsClean = (): string[] => [
  ...Object.getOwnPropertyNames(Object.prototype).filter((name) => !BUILTIN_PROTOTYPE.has(name)),
  ...('polluted' in {} ? ['polluted'] : []),
];
const BUILTIN_PROTOTYPE = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Runs `numRuns` generated cases against the prepared gateway and checks each answer (no 5xx, a
 * defect refused, problem documents, no stack trace or path), then that the state a client sees
 * is what it was before the run and that Object.prototype is untouched. A failing case is
 * reported as generated (no shrinking: every shrink step would be another request).
 */
export const attackWith = async (
  t: ExecutionContext,
  prepared: PreparedGateway,
  arbitrary: fc.Arbitrary<HostileCase>,
  numRuns: number,
  /** A further check of each answer: why it is wrong, or undefined. */
  check?: (response: RawResponse) => string | undefined,
): Promise<Tally> => {
  const tally = new Tally();
  // A baseline once the background has settled: what an earlier test set going (a bug's consequence) is not pinned on this run.
  let settled = '';
  await eventually(
    async () => {
      const now = JSON.stringify(await streamsOf(prepared));
      const same = now === settled;
      settled = now;
      return same ? true : undefined;
    },
    'the prepared streams to settle',
    30_000,
    50,
  );
  const before = await snapshotOf(prepared);
  const streamsBefore = JSON.stringify(before.streams);
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (hostile) => {
      const tokens = { operator: operatorToken(), viewer: VIEWER, auditor: AUDITOR };
      const { response, fault } = await sendCase(prepared.gateway.url, hostile, {
        tokens,
        slackSecret: SLACK_SECRET,
        secretsOfPlace: prepared.secretsOfPlace,
      });
      tally.add(response);
      const wrong = fault ?? check?.(response);
      if (wrong) throw new Error(wrong);
      // The prepared aggregates' streams after each request, so a change is pinned on the request that made it.
      const streams = JSON.stringify(await streamsOf(prepared));
      if (streams !== streamsBefore)
        throw new Error(`answered ${response.status} but changed the prepared streams: ${response.text.slice(0, 300)}`);
    }),
    { numRuns, endOnFailure: true },
  );
  // The property's own verdict first (it names the request); then what only shows after the run.
  if (details.failed)
    t.fail(`${(details.errorInstance as Error | undefined)?.message ?? ''}\n${fc.defaultReportMessage(details)}`);
  t.deepEqual(prototypeIsClean(), [], 'Object.prototype was polluted');
  t.deepEqual(await snapshotOf(prepared), before, 'a run of refused requests changed what clients see');
  return tally;
};
