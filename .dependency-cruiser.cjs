// The dependency rule of src/ (docs/architecture.md), checked by `npm run lint:deps` in `npm test`.
//
// Data flows one way: project inputs and the policy -> lockfile -> registry facts -> trust evidence (verify) ->
// checks -> verdicts -> install / report. Each layer below may import only from the layers listed before it
// (type-only imports count: a type belongs to the stage that makes it); folders that share a layer may not import
// each other; no import cycles at all. A new folder under src/ must be given a layer here before it can be used.

/** Lowest first. A path ending in `/` is a folder; other paths are single files. */
const LAYERS = [
  // Neutral code every stage may use: helpers, errors, the shared vocabulary (types.ts) and the registry facts' model.
  { name: 'shared', paths: ['src/util/', 'src/errors.ts', 'src/types.ts', 'src/facts.ts'] },
  { name: 'project', paths: ['src/project/'] },
  { name: 'policy', paths: ['src/policy/'] },
  { name: 'lockfile', paths: ['src/lockfile/'] },
  { name: 'registry', paths: ['src/registry/'] },
  { name: 'verify', paths: ['src/verify/'] },
  // Advisory data (OSV records, the registry's bulk advisories, an offline database) and its matching.
  { name: 'advisories', paths: ['src/advisories/'] },
  { name: 'checks', paths: ['src/checks/'] },
  { name: 'verdict', paths: ['src/verdict/'] },
  { name: 'install', paths: ['src/install/'] },
  { name: 'pipeline', paths: ['src/pipeline.ts'] },
  // A package's contents, read and compared (inspect), below the reports that render it.
  { name: 'inspect', paths: ['src/inspect/'] },
  // What the commands show of the pipeline's result: reports and the override prompt.
  { name: 'report, ui', paths: ['src/report/', 'src/ui/'] },
  { name: 'init', paths: ['src/init/'] },
  { name: 'quarantine', paths: ['src/quarantine/'] },
  { name: 'cli', paths: ['src/cli/'] },
  // The GitHub Action's entry: its inputs turned into a command line.
  { name: 'action', paths: ['src/action/'] },
  // The generated reference pages read the command definitions and the finding catalog.
  { name: 'docs', paths: ['src/docs/'] },
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const regexOf = (paths) => `^(?:${paths.map((p) => (p.endsWith('/') ? escape(p) : `${escape(p)}$`)).join('|')})`;
const ALL = regexOf(LAYERS.flatMap((l) => l.paths));

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer:${layer.name}`,
  comment: `${layer.name} may import only from the layers below it (${LAYERS.slice(0, i).map((l) => l.name).join(' < ') || 'none'}); see docs/architecture.md`,
  severity: 'error',
  from: { path: regexOf(layer.paths) },
  to: { path: regexOf(LAYERS.slice(i + 1).flatMap((l) => l.paths)) },
}));

const sideways = LAYERS.filter((l) => l.paths.length > 1 && l.name !== 'shared').flatMap((layer) =>
  layer.paths.map((p) => ({
    name: `peers:${layer.name}`,
    comment: `${p} may not import the other folders of its layer (${layer.name})`,
    severity: 'error',
    from: { path: regexOf([p]) },
    to: { path: regexOf(layer.paths.filter((q) => q !== p)) },
  })),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upward,
    ...sideways,
    {
      name: 'checks-read-facts-not-the-registry',
      comment: 'a check is pure over its input: it reads facts through CheckInput and src/facts.ts, never the registry stage',
      severity: 'error',
      from: { path: '^src/checks/' },
      to: { path: '^src/registry/' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycle, between stage folders or inside one',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-layer',
      comment: 'every module under src/ belongs to a layer of .dependency-cruiser.cjs (add a new folder there)',
      severity: 'error',
      from: { path: '^src/', pathNot: ALL },
      to: {},
    },
    {
      name: 'to-no-layer',
      comment: 'every module under src/ belongs to a layer of .dependency-cruiser.cjs (add a new folder there)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: ALL },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing (a typo, or a file that was moved)',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports are dependencies too: a type belongs to the stage that makes it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    includeOnly: '^src/',
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.cjs', '.d.ts'] },
  },
};
