import { createHash } from 'node:crypto';
import { codeVolumes, prepareCodeContainer, type CodeSource } from './code-volumes.js';
import { MANAGED_BY_LABEL, MANAGER, type KubeObject } from './manifests.js';
import { installSteps } from './install-steps.js';
import { APP_DIR } from './runtime-kind.js';
import type { Runtime } from './runtime.js';

/** The suites that run the repository's own commands: in a Job of the lab, never in the gateway. */
export type JobSuite = 'unit' | 'integration';

export interface TestJobInput extends CodeSource {
  readonly namespace: string;
  readonly project: string;
  readonly deploymentId: string;
  readonly runId: string;
  readonly suite: JobSuite;
  readonly runtime: Runtime;
  /** The suite's command, an argument vector; `{junit}` and `{lab_url}` are filled in the pod. */
  readonly argv: readonly string[];
  /** The lab's public URL, in LAB_INGRESS_URL (the Service is LAB_URL). */
  readonly ingressUrl: string;
  readonly timeoutSeconds: number;
  /** Image of the init container that gathers the code. */
  readonly fetchImage: string;
}

/** The test container's name: its log is the suite's output. */
export const TEST_CONTAINER = 'tests';

/** Where the runner writes its JUnit report in the pod (`{junit}`, and GATEWAY_JUNIT_FILE). */
const JUNIT_FILE = '/results/junit.xml';

/**
 * One Job per suite of a run, named from the deployment and the run: applying it again (a
 * gateway restarted mid-run) finds the same Job and waits for it instead of starting another.
 */
export const testJobName = (deploymentId: string, runId: string, suite: JobSuite): string =>
  `tests-${suite}-${createHash('sha256').update(`${deploymentId}/${runId}`).digest('hex').slice(0, 12)}`;

/** The line that opens each of the script's reports in the log: the Job's name makes it its own. */
export const markerOf = (jobName: string): string => `::ai-dev-gateway ${jobName}::`;

/**
 * The test container's script (POSIX sh). The suite's command comes as the script's arguments,
 * so no shell ever reads it: `{lab_url}` in an argument is replaced by a loop of parameter
 * expansions, not by `eval`. Dependencies are installed first, dev ones included (tests need
 * them). LAB_URL is the lab's Service, found as every pod finds one, by the variables the kubelet
 * sets for each Service of the namespace (`APP_SERVICE_HOST`/`_PORT`), else its DNS name. After
 * the command: the JUnit report between marker lines, then the exit code, for the gateway to
 * read from the pod's log.
 */
const testScript = (runtime: Runtime, marker: string): string =>
  [
    'set -u',
    'install() {',
    ...installSteps(runtime.kind, 'development').map((line) => `  ${line}`),
    '}',
    `if ! install; then echo "${marker} install-failed"; exit 3; fi`,
    'LAB_URL="http://${APP_SERVICE_HOST:-app}:${APP_SERVICE_PORT:-80}"',
    'export LAB_URL',
    'for arg do',
    '  shift',
    '  rest=$arg; out=',
    "  while :; do case $rest in *'{lab_url}'*) out=$out${rest%%'{lab_url}'*}$LAB_URL; rest=${rest#*'{lab_url}'} ;; *) break ;; esac; done",
    '  set -- "$@" "$out$rest"',
    'done',
    'mkdir -p "$(dirname "$GATEWAY_JUNIT_FILE")"',
    '"$@"',
    'code=$?',
    'if [ -s "$GATEWAY_JUNIT_FILE" ]; then',
    `  echo; echo "${marker} junit"; cat "$GATEWAY_JUNIT_FILE"; echo`,
    'fi',
    `echo; echo "${marker} exit $code"`,
    'exit $code',
  ].join('\n');

/**
 * A suite's Job in the lab's namespace: the commit's code gathered as the lab's pod gathers it,
 * the runtime's image, no service-account token (`automountServiceAccountToken: false`: the
 * repository's code gets no key to the cluster), one try, `activeDeadlineSeconds` from the test
 * timeout, and a time to live after it ends in case the gateway is not there to delete it.
 */
export const testJob = (input: TestJobInput): KubeObject => {
  const name = testJobName(input.deploymentId, input.runId, input.suite);
  const { volumes, prepareMounts } = codeVolumes(input, 'emptyDir');
  const labels = {
    [MANAGED_BY_LABEL]: MANAGER,
    'ai-dev-gateway/project': input.project,
    'ai-dev-gateway/deployment': input.deploymentId,
    'ai-dev-gateway/suite': input.suite,
  };
  const argv = input.argv.map((arg) => arg.replaceAll('{junit}', JUNIT_FILE));
  const env = {
    ...Object.fromEntries(Object.entries(input.runtime.env).filter(([key]) => key !== 'PORT')),
    CI: 'true',
    GATEWAY_JUNIT_FILE: JUNIT_FILE,
    LAB_INGRESS_URL: input.ingressUrl,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: input.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.timeoutSeconds,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: true,
          volumes: [...volumes, { name: 'results', emptyDir: {} }],
          initContainers: [prepareCodeContainer(input, input.fetchImage, prepareMounts)],
          containers: [
            {
              name: TEST_CONTAINER,
              image: input.runtime.image,
              command: ['sh', '-c', testScript(input.runtime, markerOf(name)), input.suite, ...argv],
              workingDir: APP_DIR,
              env: Object.entries(env).map(([key, value]) => ({ name: key, value })),
              volumeMounts: [
                { name: 'app', mountPath: APP_DIR },
                { name: 'results', mountPath: '/results' },
              ],
              resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
            },
          ],
        },
      },
    },
  };
};
