// Sizes as people type and read them, one reading for every flag (--max-body-size, --max-size) and message:
// K, M and G are binary (1M = 1 MiB), as npm's and Node's own limits are.
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/** "512MiB", "512MB", "512m", "1.5g", "1048576" (bytes); throws on anything else. */
export function parseSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value) ?? /^\s*(\d+)\s*(b)\s*$/i.exec(value);
  const n = m ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a size such as 512MiB: "${value}"`);
  return n;
}

/** 268435456 -> "256 MiB"; 50000000 -> "47.7 MiB"; 1500 -> "1500 bytes" (KiB only when exact). */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n < size) continue;
    const v = n / size;
    if (Number.isInteger(v)) return `${v} ${unit}`;
    if (unit !== 'KiB') return `${v.toFixed(1)} ${unit}`;
  }
  return `${n} bytes`;
}
