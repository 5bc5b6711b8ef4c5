import { mkdir } from 'node:fs/promises';
import type { RoutingTask } from '../routing/analyze.js';
import type { SecondOpinion } from '../routing/assisted.js';
import { must, openCodeClient } from './opencode-client.js';
import type { OpenCodeEndpoint } from './opencode-server.js';

/** The OpenCode agent that gives the router's second opinion: no tool, no permission, JSON only. */
export const ROUTER_AGENT = 'router';

/** Every tool OpenCode offers an agent, off for the router (its answer is text, nothing else). */
const NO_TOOLS = Object.fromEntries(
  [
    'bash',
    'edit',
    'write',
    'read',
    'glob',
    'grep',
    'list',
    'patch',
    'todowrite',
    'todoread',
    'webfetch',
    'question',
    'task',
    'skill',
  ].map((tool) => [tool, false]),
);

export const routerAgent = {
  description: 'Routes a work request to a BMAD persona; answers one JSON object and nothing else',
  mode: 'primary',
  temperature: 0,
  tools: NO_TOOLS,
  permission: { edit: 'deny', bash: 'deny', webfetch: 'deny' },
  prompt: [
    'You route a work request posted in Slack to one of four personas, by these rules, in this order:',
    '- architect: security-sensitive work of any size (authentication, authorization, secrets, keys, encryption, personal data, injection, XSS/CSRF/SSRF, abuse, TLS, permissions, hardening, vulnerabilities), and architecture decisions (choosing technologies, service boundaries, queues, storage, data migration, caching, consistency, multi-region).',
    '- pm: business rules, pricing, policies, requirements, user stories, prioritisation, experiments: what to build and for whom.',
    '- builder: small, concrete implementation with a clear scope (a bug fix, a rename, a field, a status code, a label, a test).',
    '- party-mode: large, cross-cutting, ambiguous or unknown work.',
    'Answer with exactly one JSON object: {"route": "architect" | "pm" | "builder" | "party-mode", "confidence": a number from 0 to 1, "reason": one sentence}. No other text.',
  ].join('\n'),
};

const question = (task: RoutingTask): string =>
  `Route this request.\nTitle: ${task.title}\nDescription: ${task.description || '(none)'}`;

/**
 * The router's second opinion from the shared OpenCode server: a session of its own with the
 * router agent, one prompt, its text answer, the session deleted. `directory` is any folder
 * OpenCode can see (the workspaces' base).
 */
export const routeOpinion =
  (endpoint: () => OpenCodeEndpoint | undefined, directory: string): SecondOpinion =>
  async (task, signal) => {
    await mkdir(directory, { recursive: true });
    const client = openCodeClient(endpoint());
    const session = await must(
      client.session.create({ directory, title: 'route a task' }, { signal }),
      'session.create',
    );
    try {
      const answer = await must(
        client.session.prompt(
          {
            sessionID: session.id,
            directory,
            agent: ROUTER_AGENT,
            tools: NO_TOOLS,
            parts: [{ type: 'text', text: question(task) }],
          },
          { signal },
        ),
        'session.prompt',
      );
      const failed = (answer.info as { error?: { name?: string; data?: { message?: string } } }).error;
      if (failed) throw new Error(`the model failed: ${failed.data?.message ?? failed.name ?? 'unknown error'}`);
      return answer.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
    } finally {
      await client.session.delete({ sessionID: session.id, directory }).catch(() => undefined);
    }
  };
