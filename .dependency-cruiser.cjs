/**
 * The architecture, as rules `npm run deps` (dependency-cruiser) checks on every CI run.
 *
 *   domain/     the vocabulary (QueryJob, Principal, ApiError…): imports nothing of ours
 *   sql/        the SQL guard and planner: domain/ only
 *   ports       state/port.ts, warehouse/port.ts, storage/port.ts: interfaces the services use
 *   adapters    state/{postgres,dynamodb}, warehouse/{postgres,redshift-data,embedded},
 *               storage/{fs,s3}: each implements one port; never imports runtime/, http/ or
 *               another adapter (the embedded server builds on the postgres warehouse's role SQL);
 *               what two adapters share sits beside the port (warehouse/column-types.ts)
 *   services/, auth/, worker/, formats/, observability/: the behaviour, written against ports
 *   http/       the HTTP app (Hono), built from services handed to it
 *   runtime/    the composition roots (Node server, Node worker, one per Lambda function): the only
 *               place that picks adapters from config and wires them
 *   cli/        the command line, over runtime/
 *   infra/      the CDK app: deploys src/, which never imports it
 *
 * No import cycles anywhere in src/.
 */
const ADAPTERS = '^src/(state|warehouse|storage)/(postgres|dynamodb|redshift-data|embedded|fs|s3)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'An import cycle makes load order matter and modules impossible to use alone.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-imports-nothing-of-ours',
      comment: 'domain/ is the vocabulary every layer shares; it depends on no layer.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'sql-imports-only-domain',
      comment: 'The SQL guard and planner are pure: they see SQL text and the domain, nothing else.',
      severity: 'error',
      from: { path: '^src/sql/' },
      to: { path: '^src/', pathNot: '^src/(sql|domain)/' },
    },
    {
      name: 'adapters-do-not-import-runtime-or-http',
      comment: 'An adapter implements a port; wiring (runtime/) and HTTP (http/) sit above it.',
      severity: 'error',
      from: { path: ADAPTERS },
      to: { path: '^src/(runtime|http|cli)/' },
    },
    {
      name: 'adapters-do-not-import-each-other',
      comment: 'An adapter is an import path: what a function does not import it does not ship.',
      severity: 'error',
      from: {
        path: '^src/(state|warehouse|storage)/(postgres|dynamodb|redshift-data|embedded|fs|s3)/',
        pathNot: '^src/warehouse/embedded/',
      },
      to: { path: ADAPTERS, pathNot: '^src/$1/$2/' },
    },
    {
      name: 'embedded-builds-only-on-the-postgres-warehouse',
      comment: 'The embedded server is a PostgreSQL warehouse: its bootstrap uses the postgres adapter’s role SQL, nothing else.',
      severity: 'error',
      from: { path: '^src/warehouse/embedded/' },
      to: { path: ADAPTERS, pathNot: '^src/warehouse/(embedded|postgres)/' },
    },
    {
      name: 'only-runtime-picks-adapters',
      comment: 'Services, auth, workers and HTTP use ports; runtime/ (and the CLI over it) chooses adapters.',
      severity: 'error',
      from: { path: '^src/(domain|sql|services|auth|worker|formats|observability|http)/' },
      to: { path: ADAPTERS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-does-not-import-infra',
      comment: 'infra/ deploys src/; the application never depends on its deployment.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^infra/' },
    },
    {
      name: 'no-runtime-below-it',
      comment: 'runtime/ is the composition root: nothing it wires may import it back.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(runtime|cli|index\\.ts)' },
      to: { path: '^src/runtime/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
