import test from 'ava';
import { deploymentIdOf, deploymentStream } from '../../src/deployments/events.js';
import { namespaceOf, namespaceStream } from '../../src/labs/events.js';
import { webhookSessionOf, webhookStream } from '../../src/notifications/events.js';
import { sessionIdOf, sessionStream } from '../../src/sessions/events.js';

test('each kind of stream reads back the id it was named with, and only its own kind', (t) => {
  t.is(sessionIdOf(sessionStream('ses-1')), 'ses-1');
  t.is(deploymentIdOf(deploymentStream('dep-a-b')), 'dep-a-b', 'an id may itself hold dashes');
  t.is(namespaceOf(namespaceStream('lab-platform-billing')), 'lab-platform-billing');
  t.is(webhookSessionOf(webhookStream('ses-1')), 'ses-1');
  t.is(sessionIdOf(deploymentStream('ses-1')), undefined);
  t.is(deploymentIdOf(sessionStream('deployment-x')), undefined);
  t.is(sessionIdOf('session-'), undefined, 'a prefix alone names nothing');
  t.is(webhookSessionOf('pm-notifier-checkpoint'), undefined);
});
