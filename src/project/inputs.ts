// What the project stage reads of the settings a project already keeps for its package managers (package.json
// allowScripts, pnpm's and yarn's build lists, age gates and trust settings), for the policy to take as inputs.

/** Settings the project already keeps elsewhere, read as inputs so nobody curates twice. */
export interface ProjectInputs {
  /** npm 11's package.json `allowScripts`: "name" or "name@1.2.3 || 1.2.4" -> true (allow) / false (deny). */
  allowScripts?: Record<string, boolean>;
  /** Build allow/deny lists kept for a package manager (pnpm's lists, yarn's dependenciesMeta), with their source. */
  builds?: { allow: string[]; deny: string[]; source: string }[];
  /** Other package managers' minimum release ages (pnpm minimumReleaseAge, yarn npmMinimalAgeGate). */
  ageGates?: { ms: number; exclude: string[]; source: string }[];
  /** pnpm's trustPolicy settings. */
  trust?: { mode: 'no-downgrade' | 'off'; exclude: string[]; ignoreAfterMs?: number; source: string };
  /** The source of a setting that makes an unlisted build fail the install (pnpm strictDepBuilds). */
  strictBuilds?: string;
  /** The source of a setting that blocks git/tarball sources of transitive dependencies (pnpm blockExoticSubdeps). */
  blockExoticSubdeps?: string;
  /** One line per setting read, for the report ("pnpm-workspace.yaml minimumReleaseAge: 1440 minutes"). */
  settings?: string[];
}

/** Several packages managers' inputs as one (lists concatenated; the first of a single-valued setting wins). */
export function mergeInputs(...all: ProjectInputs[]): ProjectInputs {
  const out: ProjectInputs = {};
  for (const i of all) {
    if (i.allowScripts) out.allowScripts = { ...out.allowScripts, ...i.allowScripts };
    if (i.builds) out.builds = [...(out.builds ?? []), ...i.builds];
    if (i.ageGates) out.ageGates = [...(out.ageGates ?? []), ...i.ageGates];
    if (i.settings) out.settings = [...(out.settings ?? []), ...i.settings];
    out.trust ??= i.trust;
    out.strictBuilds ??= i.strictBuilds;
    out.blockExoticSubdeps ??= i.blockExoticSubdeps;
  }
  return out;
}
