/**
 * The module rules of functions/ and cli/ (docs/architecture.md, "Layers and rules"), checked by `npm run lint`
 * (so by `npm test`): no import circles, and dependencies only in the allowed directions.
 */

/** Use cases the HTTP routes call, one module per API resource (functions/http/routes.ts imports them). */
const HTTP_USE_CASES =
  '^functions/app/(?!ports/)[^/]+/(imagestreams|imagestreamtags|imagestreamtaghistories|imagestreamimages|imagestreammappings|imagestreamimports|images|projects|rolebindings|secrets|webhooks|selfsubjectaccessreviews|selfsubjectrulesreviews)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle ties its modules into one: none anywhere.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'functions/core is the pure domain: it imports nothing else of this repository.',
      from: { path: '^functions/core/' },
      to: { path: '^(functions|cli|infra|scripts|console)/', pathNot: '^functions/core/' },
    },
    {
      name: 'app-not-on-edges',
      severity: 'error',
      comment: 'Use cases never depend on how they are called (HTTP, Lambda handlers, local mode).',
      from: { path: '^functions/app/' },
      to: { path: '^functions/(http|handlers|local)/' },
    },
    {
      name: 'app-through-ports',
      severity: 'error',
      comment:
        'Use cases reach the table, AWS and registries only through the ports they declare (functions/app/ports); ' +
        'the adapters are built by the composition roots (functions/handlers, functions/local).',
      from: { path: '^functions/app/' },
      to: {
        path: '^functions/(store|aws|registry)/',
        pathNot: '^functions/registry/(errors|credentials|deadline)\\.ts$',
      },
    },
    {
      name: 'app-free-of-telemetry-adapters',
      severity: 'error',
      comment:
        'Use cases count through the metrics port and log through the Log port: of functions/telemetry they see ' +
        'only the metrics catalogue (names), never the adapters over Powertools.',
      from: { path: '^functions/(app|core)/' },
      to: { path: '^functions/telemetry/(?!metrics\\.ts$)' },
    },
    {
      name: 'local-mode-untraced',
      severity: 'error',
      comment:
        'Local mode (and the tests built on it) never loads the Lambda telemetry: X-Ray’s SDK hooks every promise ' +
        'of the process through async_hooks, a cost only a traced Lambda function should pay.',
      from: { path: '^functions/local/' },
      to: { path: '^functions/telemetry/lambda-telemetry\\.ts$', reachable: true },
    },
    {
      name: 'table-keys-stay-in-store',
      severity: 'error',
      comment:
        'Only the store (and the CDK stack, for its stream filters) knows how records are keyed: everything else ' +
        'works with domain objects and the store’s methods.',
      from: { pathNot: '^(functions/store|infra)/' },
      to: { path: '^functions/store/keys\\.ts$' },
    },
    {
      name: 'jobs-and-imports-not-into-http-use-cases',
      severity: 'error',
      comment:
        'Background work (jobs, the change processor) and the import machinery are called by the HTTP use cases, ' +
        'never the other way round: shared pieces live in app/shared or the capability’s own modules.',
      from: {
        path: '^functions/app/(jobs|events|imports)/',
        pathNot: HTTP_USE_CASES,
      },
      to: { path: HTTP_USE_CASES },
    },
    {
      name: 'http-use-cases-independent',
      severity: 'error',
      comment: 'One API resource’s use case does not call another’s; what they share lives in app/shared.',
      from: { path: HTTP_USE_CASES },
      to: { path: HTTP_USE_CASES },
    },
    {
      name: 'cli-stands-alone',
      severity: 'error',
      comment:
        'isctl talks to the service over HTTP only: it shares nothing with the server but the pure core.',
      from: { path: '^cli/' },
      to: { path: '^functions/', pathNot: '^functions/core/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'] },
  },
};
