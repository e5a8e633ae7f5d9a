// @npmcli/package-json ships no types; only what src/project/package-json-text.ts uses.
declare module '@npmcli/package-json' {
  export default class PackageJson {
    /** Parse package.json text (json-parse-even-better-errors: a BOM is dropped; indent and newline recorded). */
    fromJSON(data: string): this;
    /** The parsed document, with Symbol.for('indent') and Symbol.for('newline') as found in the text. */
    get content(): Record<string | symbol, unknown>;
  }
}
