import type { AgentUser } from '../shared/agent-user.js';
import type Router from '@koa/router';
import type { Logger } from 'pino';
import type { RunOnce } from '../api/middleware/idempotency.js';
import type { SseHub } from '../api/sse.js';
import type { GatewayConfig } from '../config/schema.js';
import type { SomeEventDefinition } from '../events/domain-event.js';
import type { EventLog } from '../events/event-log.js';
import type { CommandReaction } from '../process-managers/process-manager.js';
import type { Startable } from '../process-managers/group.js';
import type { ReactionOutcome } from '../process-managers/runner.js';
import type { DocumentProjection, Projection } from '../projections/projection.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';

/**
 * A view a capability keeps: documents by id (a session, a deployment), or one fold of the whole log
 * (the log summary). `gateway rebuild` rebuilds each and says what it built in these words.
 */
export type ViewDefinition =
  | { readonly kind: 'documents'; readonly projection: DocumentProjection<unknown>; readonly noun: string }
  | {
      readonly kind: 'fold';
      readonly projection: Projection<unknown>;
      readonly describe: (state: unknown) => { count: number; text: string };
    };

export const documentsView = <Document>(projection: DocumentProjection<Document>, noun: string): ViewDefinition => ({
  kind: 'documents',
  projection: projection as DocumentProjection<unknown>,
  noun,
});

/** What the subscribers of one gateway share: the log, and where lag, reactions and failures are reported. */
interface RuntimeOptions {
  readonly eventLog: EventLog;
  readonly maxConcurrency: number;
  readonly onReaction: (name: string, key: string, outcome: ReactionOutcome) => void;
  readonly onLag: (name: string, lag: number) => void;
  readonly onError: (name: string, error: unknown) => void;
}

/** Work with a life of its own (a watch, a child server): started after the views, stopped before them. */
interface Service {
  start(): Promise<void> | void;
  stop(): Promise<void>;
}

/** A command whose time has come, for the deadline timer; the decider ignores it when early or answered. */
export type DueCommand = Omit<CommandReaction, 'type'>;

/** What a capability adds to the running gateway. */
export interface Capability {
  /** Process managers, each with its effects (started once every view has caught up). */
  readonly processManagers?: readonly Startable[];
  readonly services?: readonly Service[];
  readonly routers?: readonly Router[];
  /** The commands due at `now`, read from its views; asked every tick of the deadline timer. */
  readonly due?: (now: Date) => readonly DueCommand[];
  /** Readiness checks by name, for GET /ready (a resolved string is a state short of "ok": see ReadinessCheck). */
  readonly checks?: Readonly<Record<string, () => Promise<void | string>>>;
}

/** What the composition root hands every capability. */
export interface Shared {
  /** The folder relative paths of the configuration are read from. */
  readonly cwd: string;
  readonly eventLog: EventLog;
  readonly logger: Logger;
  readonly runtimeOptions: RuntimeOptions;
  readonly sse: SseHub;
  /** Refuses work that would start something new while the log's disk is short of room (undefined: always admitted). */
  readonly admitNewWork: (() => Promise<void>) | undefined;
  /** Runs a command once per Idempotency-Key (the Slack interactions use it after their signature is checked). */
  readonly runOnce: RunOnce;
  /** Whom the agent's shell runs as when not the gateway's user: the workspaces are handed to it. */
  readonly agentUser: AgentUser | undefined;
  /** The one running view of a projection, made on first use: how a capability reads another's views. */
  viewOf<Document>(projection: DocumentProjection<Document>): DocumentProjectionRunner<Document>;
  /** The one instance of another capability, made on first use (labs' cluster for deployments, say). */
  use<Contribution extends Capability>(module: CapabilityModule<Contribution>): Contribution;
}

/**
 * A capability as a module: its events and views (known without configuration, so the event
 * registry and `gateway rebuild` read them too), and the factory the running gateway calls.
 */
export interface CapabilityModule<Contribution extends Capability = Capability> {
  readonly name: string;
  readonly events: readonly SomeEventDefinition[];
  readonly views: readonly ViewDefinition[];
  readonly create: (config: GatewayConfig, shared: Shared) => Contribution;
}
