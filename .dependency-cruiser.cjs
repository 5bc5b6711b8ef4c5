// @ts-check
/**
 * Layering rules for src/ and projections/ (dependency-cruiser 17).
 *
 *   npx depcruise src projections --config .dependency-cruiser.cjs --output-type err-long
 *
 * Vocabulary (a folder is a direct child of src/, or projections/):
 * - composition level: src/main.ts, src/composition.ts (the server), src/opencode-config.ts (the
 *   OpenCode configuration for a server the gateway does not run), src/audit/cli.ts (the `gateway`
 *   CLI that bin/gateway.mjs starts), src/capabilities.ts (the list of capabilities) and src/openapi/
 *   (the whole gateway's HTTP contract, which names every capability's statuses). They may import
 *   everything; only the roots import them.
 * - infrastructure: generic plumbing that names no capability. src/api is the HTTP layer (Koa app,
 *   middleware, problem+json, SSE); src/capability is the shape of a capability module (it may name
 *   the HTTP layer's types: a capability contributes routes); commands, config, events, eventstore,
 *   files, process-managers, projections, shared and types are not HTTP.
 * - slices: capability folders. src/slack (the Slack channel: it runs session and deployment
 *   commands) and src/audit (reads every capability's events) are slices, not plumbing.
 *   projections/ holds the cross-cutting folds (the stream catalog, the log summary) that read every
 *   capability's events; each capability's own views live in its folder (src/<capability>/*-view.ts).
 */

const INFRA_NOT_HTTP = 'commands|config|events|eventstore|files|process-managers|projections|shared|types';
const SLICE_FOLDERS = 'agents|audit|deployments|labs|notifications|routing|sessions|slack|testing|workspaces';

/** Generic plumbing, the HTTP layer included. */
const INFRA = `^src/(api|capability|${INFRA_NOT_HTTP})/`;
/** Capability folders, and the cross-cutting folds in projections/. */
const SLICES = `^(src/(${SLICE_FOLDERS})/|projections/)`;
/** The entry points. */
const ROOTS = '^src/(main|composition|opencode-config)[.]ts$|^src/audit/cli[.]ts$';
/** The entry points and what only they may import. */
const COMPOSITION = `${ROOTS}|^src/capabilities[.]ts$|^src/openapi/`;
/** The HTTP layer's error type (ProblemError, ProblemDocument, FieldError, PROBLEM_TYPE_BASE). */
const HTTP_PROBLEM = '^src/api/problem[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment:
        'Rule 1. Folders form a DAG: no folder reaches itself through other folders, even when no single ' +
        'file is on a cycle. Checked on the folder graph (scope "folder"); a loop inside one folder (src/api ' +
        '<-> src/api/middleware) is left out by the $1 group. Limit: an import of a file in a nested folder ' +
        'counts as an edge to that nested folder, so a loop that only closes through the parent of a nested ' +
        'folder is missed.',
      scope: 'folder',
      from: { path: '^(src/[^/]+|projections)' },
      to: { circular: true, pathNot: '^$1(/|$)' },
    },
    {
      name: 'no-repository-code-in-the-gateway',
      severity: 'error',
      comment:
        "Issue 15: a repository's own commands (its tests, its start) run in Jobs and pods of its lab, never " +
        "in the gateway, which holds the cluster's keys and the event log. Only these files start programs, " +
        'each one the gateway chose: git plumbing (clone, worktrees, rev-parse/ls-tree/cat-file, the ' +
        "snapshot commit), OpenCode, and the operator's Taskfile (workspace.taskfile_path). A new place " +
        'that starts a process is a decision, made here.',
      from: {
        pathNot:
          '^src/(agents/opencode-server|deployments/repo-files|workspaces/clone|' +
          'workspaces/names|workspaces/task-init|workspaces/git-workspace|shared/run-bounded|shared/git)[.]ts$',
      },
      to: { path: '^(node:)?child_process$|node_modules/(execa|simple-git)/|^src/shared/run-bounded[.]ts$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Rule 1. No file-level import cycle, type-only imports included (tsPreCompilationDeps): cycles make ' +
        'module evaluation order fragile and cannot be split into layers.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'infra-not-to-slice',
      severity: 'error',
      comment:
        'Rule 2. Infrastructure names no capability; capabilities plug into it from the composition root. ' +
        'A helper a slice shares with infrastructure or with other slices moves down to src/shared (or the ' +
        'infrastructure folder it belongs to).',
      from: { path: INFRA },
      to: { path: SLICES },
    },
    {
      name: 'composition-only-from-roots',
      severity: 'error',
      comment:
        'Rule 2. The composition level imports everything, so nothing below it may import it back: only the ' +
        'roots import src/composition.ts, src/main.ts, src/audit/cli.ts and src/openapi/ (src/api/app.ts is ' +
        'handed the OpenAPI document; it does not build it).',
      from: { pathNot: COMPOSITION },
      to: { path: COMPOSITION },
    },
    {
      name: 'infra-not-to-http-problem',
      severity: 'error',
      comment:
        'Rule 3. Only the HTTP layer (src/api) turns outcomes into RFC 9457 problems. Other infrastructure ' +
        'returns domain values or throws its own errors, and src/api maps them (domainErrorToProblem, ' +
        'waitErrorToProblem live in src/api).',
      from: { path: `^src/(${INFRA_NOT_HTTP})/` },
      to: { path: HTTP_PROBLEM },
    },
    {
      name: 'infra-not-to-http-layer',
      severity: 'error',
      comment:
        'Rule 3. Non-HTTP infrastructure does not import the rest of src/api either (Koa ctx.state, SSE, ' +
        'middleware): Koa middleware lives in src/api/middleware. src/api may import commands, events, ' +
        'projections ...; not the other way round.',
      from: { path: `^src/(${INFRA_NOT_HTTP})/` },
      to: { path: '^src/api/', pathNot: HTTP_PROBLEM },
    },
    {
      name: 'folder-is-classified',
      severity: 'error',
      comment:
        'A new folder under src/ must be added to INFRA_NOT_HTTP, SLICE_FOLDERS or COMPOSITION in this file, ' +
        'so that the rules above cover it.',
      from: {},
      to: { path: '^src/[^/]+/', pathNot: `^src/(api|capability|openapi|${INFRA_NOT_HTTP}|${SLICE_FOLDERS})/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules are not followed, but kept as targets: a rule may name a package.
    exclude: { path: '^test/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // NodeNext ESM: './x.js' in an import is './x.ts' on disk; 'types' resolves type-only package imports.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      archi: { collapsePattern: '^(src/[^/]+|projections)/' },
    },
  },
};
