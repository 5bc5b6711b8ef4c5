/**
 * The Server-Sent Events' payloads, one schema per `event:` type of each stream, as the SSE
 * routes build them (src/sessions/session-sse.ts, src/deployments/progress-sse.ts). The
 * stream operations name them in their 200 response's `x-sse-events`, and the tests check
 * every frame they read against them.
 */
import { nullable, ref, stepName, strictObject } from './schemas.js';

const deploymentEnd = { type: 'string', enum: ['succeeded', 'failed', 'rejected', 'expired'] };

const sessionEvents: Record<string, object> = {
  SessionStatusEvent: strictObject(['status', 'agent_status'], {
    status: ref('SessionStatus'),
    agent_status: ref('AgentStatus'),
    error: { type: 'string', description: 'Why, when the status is failed' },
  }),
  SessionQuestionEvent: strictObject(['question_id', 'text', 'options'], {
    question_id: { type: 'string' },
    text: { type: 'string' },
    options: { type: 'array', items: { type: 'string' } },
  }),
  SessionAgentOutputEvent: strictObject(['message_id', 'text'], {
    message_id: { type: 'string' },
    text: { type: 'string' },
  }),
  SessionProgressEvent: strictObject(['summary'], { summary: { type: 'string' } }),
  SessionDeploymentEvent: strictObject(['deployment_id', 'status'], {
    deployment_id: { type: 'string' },
    status: ref('DeploymentStatus'),
  }),
};

const deploymentEvents: Record<string, object> = {
  DeploymentProgressEvent: strictObject(['step', 'message'], { step: stepName, message: { type: 'string' } }),
  DeploymentStepCompleteEvent: strictObject(['step', 'status', 'detail'], {
    step: stepName,
    status: { type: 'string', enum: ['done', 'failed', 'skipped'] },
    detail: nullable({ type: 'string' }),
  }),
  DeploymentTestResultsEvent: ref('Tests'),
  DeploymentCompleteEvent: strictObject(['status', 'url', 'all_passing'], {
    status: deploymentEnd,
    url: nullable({ type: 'string' }),
    all_passing: { type: 'boolean' },
    failed_step: { ...nullable(stepName), description: 'When failed: the step that failed (null before any step)' },
    error: { type: 'string', description: 'When failed, rejected or expired: why' },
  }),
};

export const sseSchemas: Record<string, object> = { ...sessionEvents, ...deploymentEvents };

/** `event:` type → schema, for each stream's 200 response (`x-sse-events`). */
export const SESSION_SSE_EVENTS = {
  status: ref('SessionStatusEvent'),
  question: ref('SessionQuestionEvent'),
  agent_output: ref('SessionAgentOutputEvent'),
  progress: ref('SessionProgressEvent'),
  deployment: ref('SessionDeploymentEvent'),
};

export const DEPLOYMENT_SSE_EVENTS = {
  progress: ref('DeploymentProgressEvent'),
  step_complete: ref('DeploymentStepCompleteEvent'),
  test_results: ref('DeploymentTestResultsEvent'),
  complete: ref('DeploymentCompleteEvent'),
};
