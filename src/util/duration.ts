// Durations as users write them: "7d", "48h", "90m", "2w", or a bare number of minutes (pnpm's unit).
const UNIT_MS: Record<string, number> = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, min: 60_000, s: 1000 };

export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`not a duration: ${value}`);
    return value * 60_000;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(w|d|h|m|min|s)\s*$/.exec(value);
  const unit = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
  if (!m || unit === undefined) throw new Error(`not a duration: "${value}" (use e.g. "7d", "48h", "90m", or minutes as a number)`);
  return Number(m[1]) * unit;
}

export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= 86_400_000) return `${+(ms / 86_400_000).toFixed(1)}d`;
  if (abs >= 3_600_000) return `${+(ms / 3_600_000).toFixed(1)}h`;
  return `${Math.round(ms / 60_000)}m`;
}
