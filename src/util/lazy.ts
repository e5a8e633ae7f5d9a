// The one way to build something on first use. Libraries only some projects or commands need (the YAML parser,
// pnpm's and yarn's parsers, npm-registry-fetch, pacote) are loaded by `lazy(load)`, so a check of an npm project
// does not pay ~90 ms of start-up for them (bench/RESULTS.md, warm check); anything else built once and kept (a
// schema validator) by `once(make)`. The tool's own modules load late with `await import()`. The caller passes
// the load itself (`() => require('js-yaml')`, a literal name), so the bundler (scripts/bundle.mjs) includes the
// library in the one-file build and still runs its code only on first use.

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

/** A library (`() => require('name')`, a literal name) loaded on first use. */
export function lazy<T>(load: () => unknown): () => T {
  return once(() => load() as T);
}
