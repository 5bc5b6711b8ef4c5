import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../../src/shared/free-port.js';

/**
 * A local kubelet for the fake API server: a pod's containers run as real local processes, each
 * in a root of its own (a chroot through `unshare --root`, in its own pid and mount namespaces)
 * holding the machine's /usr and /etc read-only and the pod's volumes bind-mounted where the spec says, so `/app`, `/bundle` and
 * `/code-configmaps` are the paths the code sees, as in a real pod. It needs root (bind mounts);
 * `whyNotHere()` says what is missing.
 *
 * What it runs and how (a real node pulls images; this one maps them to the machine's programs):
 * - `node:*` images run the machine's Node.js and npm;
 * - `busybox*` images run Debian's busybox, its applets first on PATH (`busybox --install -s`);
 * - anything else (uv, camel-jbang, …) is reported as the kubelet reports an image it may not
 *   pull (`ErrImageNeverPull`), saying so, never faked.
 * Volumes: a projected or plain ConfigMap volume is written read-only with its `items` (key →
 * path, mode) in the kubelet's own layout (a timestamped folder, `..data` and links to it); a PVC
 * is a folder of the namespace that outlives the pod; an `emptyDir` is a fresh folder per pod.
 * Ports: there is one network here, so a container port is mapped to a free local port, and the
 * container's `PORT` variable, when it names that container port, is set to the local one.
 * Init containers run first, one by one; a container that exits is restarted with a growing
 * back-off and shown in CrashLoopBackOff meanwhile; readiness comes from the HTTP readiness probe.
 */
export interface KubeObjectLike {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [key: string]: unknown;
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly workingDir?: string;
  readonly env?: readonly { readonly name: string; readonly value?: string }[];
  readonly ports?: readonly { readonly containerPort: number }[];
  readonly readinessProbe?: { readonly httpGet?: { readonly path?: string; readonly port: number | string } };
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }[];
}

interface ConfigMapSource {
  readonly name: string;
  readonly items?: readonly { readonly key: string; readonly path: string; readonly mode?: number }[];
}

interface Volume {
  readonly name: string;
  readonly configMap?: ConfigMapSource;
  readonly projected?: { readonly sources: readonly { readonly configMap?: ConfigMapSource }[] };
  readonly persistentVolumeClaim?: { readonly claimName: string };
  readonly emptyDir?: Record<string, unknown>;
}

interface PodSpec {
  /** Always (a Deployment's pod, the default) or Never (a Job's: run once). */
  readonly restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  /** On by default, as in Kubernetes: each Service of the namespace is told in the containers' environment. */
  readonly enableServiceLinks?: boolean;
  readonly volumes?: readonly Volume[];
  readonly initContainers?: readonly Container[];
  readonly containers: readonly Container[];
}

/** What the kubelet asks of the API server's store. */
export interface KubeletWorld {
  readonly configMap: (namespace: string, name: string) => KubeObjectLike | undefined;
  /** A new status of the pod, shaped like a real kubelet's. */
  readonly onStatus: (status: Record<string, unknown>) => void;
  /** The Service variables of a namespace (`<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT`) as they are now. */
  readonly serviceLinks?: (namespace: string) => Record<string, string>;
}

export interface RunningPod {
  /** The local address of a container port, once its container runs. */
  readonly portOf: (containerPort: number) => number | undefined;
  readonly stop: () => Promise<void>;
}

type Runnable = { readonly kind: 'node' } | { readonly kind: 'busybox' };

const imageKind = (image: string): Runnable | undefined => {
  const repository = image.split('@')[0]!.split(':')[0]!;
  const name = repository.split('/').pop()!;
  if (name === 'node') return { kind: 'node' };
  if (name === 'busybox') return { kind: 'busybox' };
  return undefined;
};

const mount = (args: readonly string[]): void => {
  execFileSync('mount', [...args], { stdio: 'pipe' });
};

const bind = (source: string, target: string, readOnly: boolean): void => {
  mount(['--bind', source, target]);
  if (readOnly) mount(['-o', 'remount,bind,ro', target]);
};

/** Mount points below `folder`, deepest first, from the kernel's own table. */
const mountsUnder = (folder: string): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_escape, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point.startsWith(`${folder}/`))
    .sort((a, b) => b.length - a.length);

/**
 * Unmounts everything below `folder`, then removes it. Removing a folder with a bind mount still
 * in it would delete through the mount (a PVC's files, the machine's own): if anything stays
 * mounted, nothing is removed and the caller hears why.
 */
const unmountAndRemove = (folder: string): void => {
  for (const point of mountsUnder(folder)) {
    try {
      execFileSync('umount', ['--lazy', point], { stdio: 'pipe' });
    } catch {
      // reported below if it is still there
    }
  }
  const left = mountsUnder(folder);
  if (left.length > 0) throw new Error(`still mounted, so not removed: ${left.join(', ')}`);
  rmSync(folder, { recursive: true, force: true });
};

/** A process's exit code (137 for a signal, as a container runtime reports a kill). */
const exitOf = (child: ChildProcess): Promise<number> =>
  new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 137)));

/** A container that exited and waits to be restarted, as the kubelet shows it, with how it last ended. */
const crashLooping = (container: string, pod: string, restartCount: number, exitCode: number) => ({
  name: container,
  ready: false,
  restartCount,
  state: {
    waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container=${container} pod=${pod}` },
  },
  lastState: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' } },
});

/** Why pods cannot run here, or undefined when they can. */
export const whyNotHere = (): string | undefined => {
  if (process.getuid?.() !== 0) return 'the local kubelet needs root for its bind mounts';
  for (const program of ['unshare', 'mount', 'umount', 'busybox'])
    if (!['/usr/bin', '/bin', '/usr/sbin', '/sbin'].some((dir) => existsSync(join(dir, program))))
      return `the local kubelet needs ${program} (.ci/run installs busybox)`;
  return undefined;
};

/** A ConfigMap written as the kubelet writes one: files in a timestamped folder, `..data` linking to it, each top name a link through `..data`. */
const writeConfigMapVolume = (
  folder: string,
  sources: readonly ConfigMapSource[],
  read: (name: string) => KubeObjectLike | undefined,
): void => {
  const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}`;
  const tops = new Set<string>();
  for (const source of sources) {
    const object = read(source.name);
    if (!object) throw new Error(`configmap "${source.name}" not found`);
    const data = (object['data'] ?? {}) as Record<string, string>;
    const binaryData = (object['binaryData'] ?? {}) as Record<string, string>;
    const items: readonly { key: string; path: string; mode?: number }[] =
      source.items ?? [...Object.keys(data), ...Object.keys(binaryData)].map((key) => ({ key, path: key }));
    for (const item of items) {
      const file = join(folder, stamp, item.path);
      mkdirSync(dirname(file), { recursive: true });
      const content =
        item.key in data ? Buffer.from(data[item.key]!, 'utf8') : Buffer.from(binaryData[item.key] ?? '', 'base64');
      writeFileSync(file, content);
      // The default mode of a ConfigMap volume is 0644; the kubelet's files are not writable through the read-only mount.
      chmodSync(file, item.mode ?? 0o644);
      tops.add(item.path.split('/')[0]!);
    }
  }
  mkdirSync(join(folder, stamp), { recursive: true });
  symlinkSync(stamp, join(folder, '..data'));
  for (const top of tops) symlinkSync(join('..data', top), join(folder, top));
};

export class LocalKubelet {
  private readonly root: string;
  private readonly pods = new Set<PodRun>();

  constructor(root = mkdtempSync(join(tmpdir(), 'kubelet-'))) {
    this.root = root;
  }

  /** Starts a pod: volumes, init containers one by one, then its containers; reports its status as it goes. */
  run(pod: KubeObjectLike, world: KubeletWorld): RunningPod {
    const run = new PodRun(this.root, pod, world);
    this.pods.add(run);
    void run.start();
    return {
      portOf: (containerPort) => run.ports.get(containerPort),
      stop: async () => {
        this.pods.delete(run);
        await run.stop();
      },
    };
  }

  /** The logs of a container of a pod, as `kubectl logs` shows them. */
  logs(namespace: string, name: string, container?: string): string | undefined {
    for (const run of this.pods) if (run.namespace === namespace && run.name === name) return run.logsOf(container);
    return undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pods].map((run) => run.stop()));
    this.pods.clear();
    unmountAndRemove(this.root);
  }
}

/** One pod's life on this kubelet. */
class PodRun {
  readonly namespace: string;
  readonly name: string;
  readonly ports = new Map<number, number>();
  private readonly spec: PodSpec;
  private readonly dir: string;
  private readonly logs = new Map<string, string>();
  /** Each container's root, made once and kept across its restarts. */
  private readonly roots = new Map<string, string>();
  /** The containers' processes that run now (init containers one at a time, then the app's or a Job's). */
  private readonly children = new Set<ChildProcess>();
  private stopped = false;
  private readonly statuses = new Map<string, Record<string, unknown>>();
  private readonly initStatuses = new Map<string, Record<string, unknown>>();
  private ready = false;

  constructor(
    private readonly kubeletRoot: string,
    pod: KubeObjectLike,
    private readonly world: KubeletWorld,
  ) {
    this.namespace = pod.metadata.namespace ?? 'default';
    this.name = pod.metadata.name;
    this.spec = pod['spec'] as PodSpec;
    this.dir = join(kubeletRoot, 'pods', this.namespace, this.name);
  }

  logsOf(container?: string): string {
    return this.logs.get(container ?? this.spec.containers[0]!.name) ?? '';
  }

  async start(): Promise<void> {
    try {
      this.report('Pending');
      const volumes = this.prepareVolumes();
      for (const container of this.spec.initContainers ?? []) {
        const exitCode = await this.runToEnd(container, volumes, this.initStatuses);
        if (exitCode !== 0 && this.spec.restartPolicy === 'Never') this.report('Failed');
        if (exitCode !== 0 || this.stopped) return;
      }
      if (this.spec.restartPolicy === 'Never') {
        // A Job's pod: each container runs once; the pod succeeds when every one exits 0.
        const codes = await Promise.all(
          this.spec.containers.map((container) => this.runToEnd(container, volumes, this.statuses)),
        );
        this.report(codes.every((code) => code === 0) ? 'Succeeded' : 'Failed');
        return;
      }
      // One container per lab pod: the app (more would each get this loop).
      for (const container of this.spec.containers) void this.keepRunning(container, volumes);
    } catch (error) {
      this.statuses.set(this.spec.containers[0]!.name, {
        name: this.spec.containers[0]!.name,
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'CreateContainerConfigError', message: (error as Error).message } },
      });
      this.report('Pending');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      [...this.children].map(async (child) => {
        const exited = exitOf(child);
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }),
    );
    unmountAndRemove(this.dir);
  }

  /** Each volume as a local folder: ConfigMaps written read-only, a PVC of the namespace, a fresh emptyDir. */
  private prepareVolumes(): Map<string, { folder: string; readOnly: boolean }> {
    const volumes = new Map<string, { folder: string; readOnly: boolean }>();
    for (const volume of this.spec.volumes ?? []) {
      const sources = volume.configMap
        ? [volume.configMap]
        : volume.projected?.sources.flatMap((source) => (source.configMap ? [source.configMap] : []));
      if (sources) {
        const folder = join(this.dir, 'volumes', volume.name);
        mkdirSync(folder, { recursive: true });
        writeConfigMapVolume(folder, sources, (name) => this.world.configMap(this.namespace, name));
        volumes.set(volume.name, { folder, readOnly: true });
      } else if (volume.persistentVolumeClaim) {
        const folder = join(this.kubeletRoot, 'pvcs', this.namespace, volume.persistentVolumeClaim.claimName);
        mkdirSync(folder, { recursive: true });
        volumes.set(volume.name, { folder, readOnly: false });
      } else if (volume.emptyDir) {
        const folder = join(this.dir, 'volumes', volume.name);
        mkdirSync(folder, { recursive: true });
        volumes.set(volume.name, { folder, readOnly: false });
      } else throw new Error(`volume ${volume.name}: only configMap, projected configMap, PVC and emptyDir are served`);
    }
    return volumes;
  }

  /** A root for one container: the machine's programs read-only, a fresh /tmp, and its volume mounts. */
  private rootFor(container: Container, volumes: Map<string, { folder: string; readOnly: boolean }>): string {
    const made = this.roots.get(container.name);
    if (made !== undefined) return made;
    const root = join(this.dir, 'containers', container.name);
    mkdirSync(root, { recursive: true });
    this.roots.set(container.name, root);
    for (const source of ['/usr', '/etc']) {
      mkdirSync(join(root, source), { recursive: true });
      bind(source, join(root, source), true);
    }
    // The container's own /proc, of its own pid namespace (unshare --mount-proc).
    mkdirSync(join(root, 'proc'), { recursive: true });
    // The devices a program expects, one by one: never the machine's whole /dev.
    mkdirSync(join(root, 'dev'), { recursive: true });
    for (const device of ['null', 'zero', 'random', 'urandom']) {
      writeFileSync(join(root, 'dev', device), '');
      bind(`/dev/${device}`, join(root, 'dev', device), false);
    }
    for (const link of ['bin', 'lib', 'lib64', 'sbin'])
      if (existsSync(`/${link}`)) symlinkSync(`usr/${link}`, join(root, link));
    mkdirSync(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
    chmodSync(join(root, 'tmp'), 0o1777);
    mkdirSync(join(root, 'root'), { recursive: true });
    if (imageKind(container.image)?.kind === 'busybox') {
      mkdirSync(join(root, 'bb'), { recursive: true });
      execFileSync('busybox', ['--install', '-s', join(root, 'bb')], { stdio: 'pipe' });
      // busybox writes absolute links to itself: the same path inside the root.
    }
    for (const volumeMount of container.volumeMounts ?? []) {
      const volume = volumes.get(volumeMount.name);
      if (!volume)
        throw new Error(`container ${container.name} mounts volume ${volumeMount.name}, which the pod does not have`);
      const target = join(root, volumeMount.mountPath);
      mkdirSync(target, { recursive: true });
      bind(volume.folder, target, volume.readOnly || volumeMount.readOnly === true);
    }
    return root;
  }

  private async environmentOf(container: Container): Promise<Record<string, string>> {
    const path =
      imageKind(container.image)?.kind === 'busybox' ? '/bb:/usr/bin:/usr/sbin' : '/usr/local/bin:/usr/bin:/usr/sbin';
    // As a kubelet does: the Services' variables first, so the container's own env wins.
    const links = this.spec.enableServiceLinks === false ? {} : (this.world.serviceLinks?.(this.namespace) ?? {});
    const env: Record<string, string> = { ...links, PATH: path, HOME: '/root', HOSTNAME: this.name };
    for (const variable of container.env ?? []) env[variable.name] = variable.value ?? '';
    for (const { containerPort } of container.ports ?? []) {
      if (!this.ports.has(containerPort)) this.ports.set(containerPort, await freePort());
      if (env['PORT'] === String(containerPort)) env['PORT'] = String(this.ports.get(containerPort));
    }
    return env;
  }

  /** Starts a container's process in its root; its output goes to its log. */
  private async spawnIn(
    container: Container,
    volumes: Map<string, { folder: string; readOnly: boolean }>,
  ): Promise<ChildProcess | { readonly waiting: { reason: string; message: string } }> {
    if (!imageKind(container.image))
      return {
        waiting: {
          reason: 'ErrImageNeverPull',
          message: `the local kubelet cannot run image "${container.image}" on this machine: it runs node and busybox images with the machine's own programs`,
        },
      };
    const root = this.rootFor(container, volumes);
    const argv = [...(container.command ?? []), ...(container.args ?? [])];
    if (argv.length === 0)
      throw new Error(`container ${container.name} has no command: images' entry points are not known here`);
    // A pid namespace of its own, as a container has: when unshare ends (stop() ends it), the
    // container's first process is killed, and with it every process it started.
    const isolation = ['--pid', '--fork', '--kill-child', '--mount', '--mount-proc'];
    const where = ['--root', root, '--wd', container.workingDir ?? '/'];
    const child = spawn('unshare', [...isolation, ...where, '--', ...argv], {
      env: await this.environmentOf(container),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const append = (chunk: Buffer) =>
      this.logs.set(container.name, (this.logs.get(container.name) ?? '') + chunk.toString());
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  private async runToEnd(
    container: Container,
    volumes: Map<string, { folder: string; readOnly: boolean }>,
    statuses: Map<string, Record<string, unknown>>,
  ): Promise<number> {
    const child = await this.spawnIn(container, volumes);
    if (!('pid' in child)) {
      statuses.set(container.name, { name: container.name, ready: false, restartCount: 0, state: child });
      this.report('Pending');
      return -1;
    }
    statuses.set(container.name, { name: container.name, ready: false, restartCount: 0, state: { running: {} } });
    this.report('Pending');
    const exitCode = await exitOf(child);
    statuses.set(
      container.name,
      exitCode === 0 || this.spec.restartPolicy === 'Never'
        ? {
            name: container.name,
            ready: exitCode === 0,
            restartCount: 0,
            state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' } },
          }
        : crashLooping(container.name, this.name, 0, exitCode),
    );
    this.report('Pending');
    return exitCode;
  }

  /** Runs a container for as long as the pod lives, restarting it with a growing back-off when it exits. */
  private async keepRunning(
    container: Container,
    volumes: Map<string, { folder: string; readOnly: boolean }>,
  ): Promise<void> {
    let restarts = 0;
    while (!this.stopped) {
      const child = await this.spawnIn(container, volumes);
      if (!('pid' in child)) {
        this.statuses.set(container.name, { name: container.name, ready: false, restartCount: 0, state: child });
        this.report('Pending');
        return;
      }
      this.statuses.set(container.name, {
        name: container.name,
        ready: false,
        restartCount: restarts,
        state: { running: { startedAt: new Date().toISOString() } },
      });
      this.report('Running');
      const probing = this.probe(container, child);
      const exitCode = await exitOf(child);
      await probing;
      if (this.stopped) return;
      restarts += 1;
      this.ready = false;
      this.statuses.set(container.name, crashLooping(container.name, this.name, restarts, exitCode));
      this.report('Running');
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** restarts, 2000)));
    }
  }

  /** Polls the HTTP readiness probe while the container runs; ready once it answers 200–399. */
  private async probe(container: Container, child: ChildProcess): Promise<void> {
    const httpGet = container.readinessProbe?.httpGet;
    const alive = () => child.exitCode === null && child.signalCode === null && !this.stopped;
    while (alive()) {
      const port = httpGet ? this.ports.get(Number(httpGet.port)) : undefined;
      const ok =
        httpGet === undefined ||
        (port !== undefined &&
          (await fetch(`http://127.0.0.1:${port}${httpGet.path ?? '/'}`, { signal: AbortSignal.timeout(1000) })
            .then((response) => response.status >= 200 && response.status < 400)
            .catch(() => false)));
      if (ok !== this.ready && alive()) {
        this.ready = ok;
        const current = this.statuses.get(container.name)!;
        this.statuses.set(container.name, { ...current, ready: ok });
        this.report('Running');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private report(phase: string): void {
    if (this.stopped) return;
    const containers = [...this.statuses.values()];
    const initialized = (this.spec.initContainers ?? []).every(
      (container) =>
        (this.initStatuses.get(container.name)?.['state'] as { terminated?: { exitCode: number } } | undefined)
          ?.terminated?.exitCode === 0,
    );
    this.world.onStatus({
      phase,
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Initialized', status: initialized ? 'True' : 'False' },
        {
          type: 'Ready',
          status: this.ready ? 'True' : 'False',
          ...(this.ready ? {} : { reason: 'ContainersNotReady' }),
        },
      ],
      ...(this.initStatuses.size > 0 ? { initContainerStatuses: [...this.initStatuses.values()] } : {}),
      ...(containers.length > 0 ? { containerStatuses: containers } : {}),
    });
  }
}
