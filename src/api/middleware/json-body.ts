import { koaBody } from 'koa-body';
import type { Middleware } from 'koa';
import compose from 'koa-compose';
import { ProblemError } from '../problem.js';
import { nestingDepthExceeds } from './request-bounds.js';

/** Paths whose bodies are not JSON (Slack posts its interactions form-encoded). */
export type FormPaths = readonly string[];

/**
 * Commands carry JSON only (415 otherwise) within the configured size (413) and nesting depth
 * (400). The raw body is kept (`ctx.request.rawBody`): idempotency compares it and Slack
 * signatures are computed over it.
 */
export const jsonBody = (limitBytes: number, formPaths: FormPaths = [], maxDepth = 32): Middleware =>
  compose([
    async (ctx, next) => {
      const declared = Number(ctx.get('Content-Length') || 0);
      if (declared > limitBytes)
        throw new ProblemError(413, `the request body is ${declared} bytes; the limit is ${limitBytes}`);
      const hasBody = ctx.request.length > 0 || ctx.get('Transfer-Encoding') !== '';
      if (hasBody && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method)) {
        const form = formPaths.includes(ctx.path);
        // Only what the parser below parses: another +json type would pass unparsed, as an empty body.
        const accepted = form ? ctx.is('application/x-www-form-urlencoded') : ctx.is('application/json');
        if (!accepted) {
          throw new ProblemError(
            415,
            `the request body must be ${form ? 'application/x-www-form-urlencoded' : 'application/json'}`,
            {
              headers: { 'Accept-Post': form ? 'application/x-www-form-urlencoded' : 'application/json' },
            },
          );
        }
      }
      await next();
    },
    bodyErrorsAreTheClients(
      koaBody({
        json: true,
        urlencoded: true,
        text: false,
        multipart: false,
        jsonLimit: limitBytes,
        formLimit: limitBytes,
        includeUnparsed: true,
        jsonStrict: true,
        parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
      } as Parameters<typeof koaBody>[0]),
    ),
    // Before any decoder walks it (recursively): a body within the size limit can still nest deep.
    async (ctx, next) => {
      if (nestingDepthExceeds(ctx.request.body, maxDepth)) {
        throw new ProblemError(400, `the request body nests deeper than ${maxDepth} levels`, {
          errors: [{ path: 'body', message: `at most ${maxDepth} levels deep` }],
        });
      }
      await next();
    },
  ]);

/**
 * A body the parser cannot read (not the gzip, deflate or br its Content-Encoding says, or cut
 * short) is the client's error: 400, not 500. Errors from the handlers after the parser pass on
 * untouched.
 */
const bodyErrorsAreTheClients =
  (parse: Middleware): Middleware =>
  async (ctx, next) => {
    let parsed = false;
    try {
      await parse(ctx, async () => {
        parsed = true;
        await next();
      });
    } catch (error) {
      if (parsed || typeof (error as { status?: unknown }).status === 'number') throw error;
      const encoding = ctx.get('Content-Encoding');
      throw new ProblemError(
        400,
        encoding ? `the request body could not be read as ${encoding}` : 'the request body could not be read',
      );
    }
  };
