import * as E from 'fp-ts/lib/Either.js';
import { ROUTES, type Route } from '../routing/signals.js';

/** What a button in Slack asks for: the contract's action values, parsed. */
export type SlackAction =
  | { readonly kind: 'confirm_deployment'; readonly deploymentId: string }
  | { readonly kind: 'reject_deployment'; readonly deploymentId: string }
  | { readonly kind: 'confirm_route'; readonly sessionId: string; readonly route: Route }
  | { readonly kind: 'answer'; readonly sessionId: string; readonly questionId: string; readonly text: string };

const ID = /^[A-Za-z0-9_.-]{1,200}$/;

/**
 * Parses `confirm_deployment:<id>`, `reject_deployment:<id>`, `confirm_route:<session_id>:<route>`
 * and `answer:<session_id>:<question_id>:<text>` (the text may hold colons). Left: why not.
 */
export const parseAction = (value: string): E.Either<string, SlackAction> => {
  const [kind, ...parts] = value.split(':');
  const ids = (count: number) => parts.slice(0, count).every((part) => ID.test(part));
  switch (kind) {
    case 'confirm_deployment':
    case 'reject_deployment':
      return parts.length === 1 && ids(1)
        ? E.right({ kind, deploymentId: parts[0]! })
        : E.left(`expected ${kind}:<deployment_id>`);
    case 'confirm_route': {
      const route = parts[1] as Route;
      if (parts.length !== 2 || !ids(1)) return E.left('expected confirm_route:<session_id>:<route>');
      return ROUTES.includes(route)
        ? E.right({ kind, sessionId: parts[0]!, route })
        : E.left(`expected a route (${ROUTES.join(', ')}), got ${JSON.stringify(parts[1])}`);
    }
    case 'answer': {
      const text = parts.slice(2).join(':');
      if (parts.length < 3 || !ids(2) || text.length === 0 || text.length > 50_000)
        return E.left('expected answer:<session_id>:<question_id>:<text>');
      return E.right({ kind, sessionId: parts[0]!, questionId: parts[1]!, text });
    }
    default:
      return E.left('expected confirm_deployment:, reject_deployment:, confirm_route: or answer:');
  }
};
