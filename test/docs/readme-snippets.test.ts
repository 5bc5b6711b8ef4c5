import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { signatureOf } from '../../src/shared/signature.js';

/** The README's code for the Slack team, run as written: a guide whose code does not work is worse than none. */
const snippet = (name: string): string => {
  const readme = readFileSync('README.md', 'utf8');
  const found = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`js\\n([\\s\\S]*?)\`\`\`\\n<!-- /snippet -->`).exec(
    readme,
  );
  if (!found) throw new Error(`README.md has no snippet ${name}`);
  return found[1]!;
};

type Verify = (raw: string, headers: Record<string, string>, secret: string, now?: number) => boolean;

test('the README’s webhook check accepts what the gateway signs and refuses a changed body, a wrong secret, an old timestamp', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'snippet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'verify.mjs');
  writeFileSync(file, snippet('verify-webhook'));
  const { verifyGatewayWebhook } = (await import(pathToFileURL(file).href)) as { verifyGatewayWebhook: Verify };
  const secret = 'webhook-secret-0123456789';
  const body = JSON.stringify({ event_id: 'e-1', event_type: 'agent_reply', data: { text: 'Done ✓' } });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = {
    'x-gateway-timestamp': timestamp,
    'x-gateway-signature': signatureOf('v1', secret, timestamp, body),
  };
  t.true(verifyGatewayWebhook(body, headers, secret));
  t.false(verifyGatewayWebhook(body.replace('Done', 'Gone'), headers, secret), 'a changed body');
  t.false(verifyGatewayWebhook(body, headers, 'another-secret'), 'a wrong secret');
  t.false(verifyGatewayWebhook(body, headers, secret, Number(timestamp) + 301), 'a timestamp over 5 minutes old');
  t.false(verifyGatewayWebhook(body, { ...headers, 'x-gateway-signature': 'v1=00' }, secret), 'a short signature');
  t.false(
    verifyGatewayWebhook(body, { 'x-gateway-signature': headers['x-gateway-signature'] }, secret),
    'no timestamp',
  );
});
