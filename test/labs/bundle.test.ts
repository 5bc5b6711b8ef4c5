import test from 'ava';
import Koa from 'koa';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar';
import { problemDocuments } from '../../src/api/middleware/problems.js';
import type { RepoFile } from '../../src/labs/repo-file.js';
import { bundleRoutes } from '../../src/labs/bundle-route.js';
import { BundleStore } from '../../src/labs/bundle-store.js';
import { checkBundleSignature, signBundleUrl } from '../../src/labs/signed-url.js';
import { serve } from '../support/http.js';

const FILES: RepoFile[] = [
  {
    path: 'data/model.bin',
    content: Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 256)),
    binary: true,
    executable: false,
  },
  { path: 'bin/serve', content: Buffer.from('#!/bin/sh\necho serving\n'), binary: false, executable: true },
  {
    path: '@scope/archive-like.txt',
    content: Buffer.from('not an archive to append\n'),
    binary: false,
    executable: false,
  },
  {
    path: 'deep/er/still/a name with spaces.json',
    content: Buffer.from('{"a":1}\n'),
    binary: false,
    executable: false,
  },
];

const SECRET = 'bundle-secret';
const NOW = new Date('2030-01-01T00:00:00Z');
const LATER = new Date('2030-01-01T01:00:00Z');

const tempDir = async (t: { teardown: (fn: () => Promise<void>) => void }, prefix: string): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

test('the same files are stored once, at the same address, and extract to the same bytes and exec bits', async (t) => {
  const dir = await tempDir(t, 'lab-bundles-');
  const store = new BundleStore(dir);
  const first = await store.put(FILES);
  const second = await store.put([...FILES].reverse());
  t.is(second.sha256, first.sha256);
  t.regex(first.sha256, /^[0-9a-f]{64}$/);
  t.deepEqual(await readdir(dir), [`${first.sha256}.tar.gz`], 'one archive, no staging left');
  t.is(first.bytes, (await stat(join(dir, `${first.sha256}.tar.gz`))).size);
  t.is(store.pathOf(first.sha256), join(dir, `${first.sha256}.tar.gz`));

  const out = await tempDir(t, 'lab-extract-');
  await extract({ file: store.pathOf(first.sha256)!, cwd: out });
  for (const file of FILES) {
    t.deepEqual(await readFile(join(out, file.path)), file.content, file.path);
    t.is(((await stat(join(out, file.path))).mode & 0o111) !== 0, file.executable, `${file.path} exec bit`);
  }

  const chmodded = await store.put(FILES.map((file) => ({ ...file, executable: !file.executable })));
  t.not(chmodded.sha256, first.sha256, 'an exec bit changes the address');
});

test('an unknown or malformed digest has no path; a path outside the commit is refused', async (t) => {
  const store = new BundleStore(await tempDir(t, 'lab-bundles-'));
  t.is(store.pathOf('0'.repeat(64)), undefined);
  t.is(store.pathOf('../etc/passwd'), undefined);
  t.is(store.pathOf('A'.repeat(64)), undefined);
  await t.throwsAsync(
    () => store.put([{ path: '../escape', content: Buffer.from('x'), binary: false, executable: false }]),
    { message: /relative/ },
  );
  await t.throwsAsync(() => store.put([]), { message: /at least one file/ });
});

test('a signed URL is the same for the same inputs, and holds only until it expires', (t) => {
  const sha = 'b'.repeat(64);
  const url = signBundleUrl('https://gateway.example.com/', sha, LATER, SECRET);
  t.is(url, signBundleUrl('https://gateway.example.com', sha, LATER, SECRET));
  const parsed = new URL(url);
  t.is(parsed.pathname, `/labs/bundles/${sha}.tar.gz`);
  const expires = parsed.searchParams.get('expires')!;
  const signature = parsed.searchParams.get('signature')!;
  t.is(expires, String(LATER.getTime() / 1000));
  t.is(checkBundleSignature(sha, expires, signature, SECRET, NOW), 'ok');
  t.is(checkBundleSignature(sha, expires, signature, SECRET, LATER), 'expired');
  t.is(checkBundleSignature(sha, expires, signature, 'other-secret', NOW), 'bad');
  t.is(checkBundleSignature('c'.repeat(64), expires, signature, SECRET, NOW), 'bad');
  t.is(checkBundleSignature(sha, String(Number(expires) + 1), signature, SECRET, NOW), 'bad');
  t.is(checkBundleSignature(sha, expires, signature.slice(1), SECRET, NOW), 'bad');
  t.is(checkBundleSignature(sha, '1e9', signature, SECRET, NOW), 'bad');
  t.is(checkBundleSignature(sha, expires, '', SECRET, NOW), 'bad');
});

test('the route serves a stored bundle to a signed URL only', async (t) => {
  const store = new BundleStore(await tempDir(t, 'lab-bundles-'));
  const { sha256 } = await store.put(FILES);
  const other = await store.put(FILES.slice(1));
  const app = new Koa();
  app.use(problemDocuments());
  const router = bundleRoutes({ store, secret: SECRET, clock: () => NOW });
  app.use(router.routes());
  const { url } = await serve(t, app);
  const signed = (sha: string, expiresAt = LATER) => signBundleUrl(url, sha, expiresAt, SECRET);

  const ok = await fetch(signed(sha256));
  t.is(ok.status, 200);
  t.is(ok.headers.get('content-type'), 'application/gzip');
  const body = Buffer.from(await ok.arrayBuffer());
  t.is(ok.headers.get('content-length'), String(body.length));
  t.deepEqual(body, await readFile(store.pathOf(sha256)!));

  const wrong = new URL(signed(sha256));
  wrong.searchParams.set('signature', 'f'.repeat(64));
  const forbidden = await fetch(wrong);
  t.is(forbidden.status, 403);
  t.regex(forbidden.headers.get('content-type') ?? '', /^application\/problem\+json/);

  const expired = await fetch(signed(sha256, new Date(NOW.getTime() - 1000)));
  t.is(expired.status, 403);
  t.regex(((await expired.json()) as { detail: string }).detail, /expired/);

  t.is((await fetch(signed('d'.repeat(64)))).status, 404, 'a signed URL of a bundle never stored');
  t.is(
    (await fetch(signed(sha256).replace(sha256, other.sha256))).status,
    403,
    'another stored bundle under this one’s signature',
  );
  t.is((await fetch(`${url}/labs/bundles/${sha256}.tar?expires=1&signature=x`)).status, 404);
  t.is((await fetch(`${url}/labs/bundles/..%2F${sha256}.tar.gz`)).status, 404);
});
