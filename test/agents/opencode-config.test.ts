import test from 'ava';
import { modelConfigured } from '../../src/agents/opencode-config.js';

const local = { npm: '@ai-sdk/openai-compatible', options: { baseURL: 'http://127.0.0.1:1/v1' } };

test('a model is configured when `model` names a provider that `provider` configures', (t) => {
  t.true(modelConfigured({ provider: { local }, model: 'local/scripted' }));
  t.true(modelConfigured({ provider: { router: {} }, model: 'router/vendor/model' }), 'model IDs may hold slashes');
});

test('no model: the shipped empty configuration, a model alone, a provider alone, or a model of another provider', (t) => {
  t.false(modelConfigured({}), 'the shipped opencode.config');
  t.false(modelConfigured({ model: 'anthropic/claude' }), 'no provider: OpenCode would get no key for it');
  t.false(modelConfigured({ provider: { local } }), 'no model: OpenCode would fall back to a hosted one');
  t.false(modelConfigured({ provider: { local }, model: 'other/scripted' }));
  t.false(modelConfigured({ provider: { local }, model: 'local' }), 'not provider/model');
  t.false(modelConfigured({ provider: { local }, model: 'local/' }));
  t.false(modelConfigured({ provider: { local }, model: 42 }));
  t.false(modelConfigured({ provider: 'local', model: 'local/scripted' }));
});
