// Libraries only some projects need (the YAML parser, pnpm's and yarn's parsers), loaded on first use: a check
// of an npm project does not pay ~90 ms of start-up for them (bench/RESULTS.md, warm check). The caller passes
// the load itself (`() => require('js-yaml')`, a literal name), so the bundler (scripts/bundle.mjs) includes the
// library in the one-file build and still runs its code only on first use.
export function lazy<T>(load: () => unknown): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load() as T);
}
