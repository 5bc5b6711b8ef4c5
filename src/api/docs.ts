import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Router from '@koa/router';
import { ProblemError } from './problem.js';
import { getAbsoluteFSPath } from 'swagger-ui-dist';

/** The few swagger-ui-dist files the page needs, served from node_modules: no CDN, CSP 'self'. */
// A Map, not an object: a lookup of `constructor` or `__proto__` must find nothing.
const ASSETS: ReadonlyMap<string, string> = new Map([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'application/javascript; charset=utf-8'],
  ['swagger-ui-standalone-preset.js', 'application/javascript; charset=utf-8'],
  ['favicon-32x32.png', 'image/png'],
]);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>AI Dev Gateway API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// Inline scripts are refused by the page's CSP, so the initializer is a file of its own.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });\n`;

export const docsRoutes = (router: Router): void => {
  const root = getAbsoluteFSPath();
  const cache = new Map<string, Buffer>();
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = PAGE;
  });
  router.get('/docs/init.js', (ctx) => {
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.body = INIT;
  });
  router.get('/docs/:asset', async (ctx) => {
    const asset = ctx.params['asset']!;
    const type = ASSETS.get(asset);
    if (!type) throw new ProblemError(404, `the rendered document has no file ${asset}`);
    let body = cache.get(asset);
    if (!body) {
      body = await readFile(join(root, asset));
      cache.set(asset, body);
    }
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = body;
  });
};
