import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { eventStoreContract } from './contract.js';

eventStoreContract('embedded', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'contract-embedded-'));
  const store = await openEmbeddedEventStore({ dataDir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
