// The one way to build something on first use. Libraries only some projects or commands need (the YAML parser,
// pnpm's and yarn's parsers, npm-registry-fetch, pacote, @npmcli/run-script) are loaded by `lazy(id)`, so a check
// of an npm project does not pay ~90 ms of start-up for them (bench/RESULTS.md, warm check); anything else built
// once and kept (a schema validator) by `once(make)`. The tool's own modules load late with `await import()`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `make()` on the first call, and its value from then on (a call that throws keeps nothing: the next one retries). */
export function once<T>(make: () => T): () => T {
  let made = false;
  let value: T;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value;
  };
}

/** The package `id` (a CommonJS package, or a file of one), required on first use. */
export function lazy<T>(id: string): () => T {
  return once(() => require(id) as T);
}
