import Router from '@koa/router';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ProblemError } from '../api/problem.js';
import type { BundleStore } from './bundle-store.js';
import { checkBundleSignature } from './signed-url.js';

const FILE = /^([0-9a-f]{64})\.tar\.gz$/;

/** One query value as a string; a repeated or missing one is empty, which no signature matches. */
const single = (value: string | string[] | undefined): string => (typeof value === 'string' ? value : '');

/**
 * `GET /labs/bundles/<sha256>.tar.gz?expires=…&signature=…`: a lab's large files for its init
 * container. The path is outside `/api/`, so no bearer token is asked: the signature is the only
 * guard, and it is checked before the store is asked, so an unsigned caller learns nothing.
 */
export const bundleRoutes = (options: { store: BundleStore; secret: string; clock?: () => Date }): Router => {
  const router = new Router();
  const clock = options.clock ?? (() => new Date());

  router.get('/labs/bundles/:file', async (ctx) => {
    const match = FILE.exec(ctx.params['file'] ?? '');
    if (!match) throw new ProblemError(404, 'a bundle is named <sha256>.tar.gz');
    const sha256 = match[1]!;
    const verdict = checkBundleSignature(
      sha256,
      single(ctx.query['expires']),
      single(ctx.query['signature']),
      options.secret,
      clock(),
    );
    if (verdict === 'bad') throw new ProblemError(403, 'the bundle URL is not signed by this gateway');
    if (verdict === 'expired')
      throw new ProblemError(403, 'the bundle URL has expired; a new deployment signs a new one');
    const path = options.store.pathOf(sha256);
    if (!path) throw new ProblemError(404, `no bundle ${sha256}`);
    const { size } = await stat(path);
    ctx.type = 'application/gzip';
    ctx.length = size;
    ctx.body = createReadStream(path);
  });

  return router;
};
