// Libraries only some projects need (the YAML parser, pnpm's and yarn's parsers), loaded on first use: a check
// of an npm project does not pay ~90 ms of start-up for them (bench/RESULTS.md, warm check).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazy<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
