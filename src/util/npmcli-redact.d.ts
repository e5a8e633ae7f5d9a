// @npmcli/redact ships no types; only what src/util/safe-text.ts uses.
declare module '@npmcli/redact' {
  /** Passwords in URLs, npm tokens (npm_...), UUIDs (legacy npm tokens). */
  export function redact(value: string): string;
}

declare module '@npmcli/redact/server' {
  /** As the main export, plus Authorization header values and JSON web tokens; walks objects too. */
  export function redact<T>(value: T): T;
}
