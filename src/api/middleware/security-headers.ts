import type { Middleware } from 'koa';

const API_CSP = "default-src 'none'; frame-ancestors 'none'";
/** Swagger UI's own script, style and images are served from /docs; nothing from elsewhere. */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'";

export const securityHeaders = (): Middleware => async (ctx, next) => {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
  ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  ctx.set('Content-Security-Policy', ctx.path === '/docs' || ctx.path.startsWith('/docs/') ? DOCS_CSP : API_CSP);
  ctx.set('Cache-Control', 'no-store');
  await next();
};
