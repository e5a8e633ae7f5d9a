// One tree, four lockfiles: npm, pnpm, yarn 1 and yarn berry each lock the same dependencies from the loopback
// registry (made by the real tools), and `safe-install check` gives the same verdicts whichever describes it.
// Then the package managers' own settings (pnpm-workspace.yaml, .npmrc, .yarnrc.yml) as inputs, --pm, and the
// package.json packageManager field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, lockWith, tempDir } from './helpers.js';

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const DEPS = { 'app-lib': '^1.0.0', 'ten-days': '1.0.0', 'two-days': '1.0.0', 'with-script': '1.0.0' };

let registry: TestRegistry;
/** Lockfile name -> a project folder holding only package.json and that lockfile. */
const projects = new Map<string, string>();

/** A folder with package.json, made into a project locked by one package manager. */
function base(name: string, extra: Record<string, unknown> = {}): string {
  const dir = tempDir(`si-pm-${name}-`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: DEPS, ...extra }, null, 2));
  return dir;
}

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'app-lib', versions: [{ version: '1.0.0', publishedAt: ago(400), dependencies: { 'deep-dep': '^2.0.0' } }] });
  registry.addPackage({ name: 'deep-dep', versions: [{ version: '2.1.0', publishedAt: ago(300) }] });
  registry.addPackage({ name: 'ten-days', versions: [{ version: '1.0.0', publishedAt: ago(10) }] });
  registry.addPackage({
    name: 'two-days',
    versions: [
      { version: '0.9.0', publishedAt: ago(90) },
      { version: '1.0.0', publishedAt: ago(2) },
    ],
  });
  registry.addPackage({ name: 'with-script', versions: [{ version: '1.0.0', publishedAt: ago(200), scripts: { postinstall: 'node -e 0' } }] });
  const env = cleanEnv(registry.url);
  const lock = async (key: string, tool: Parameters<typeof lockWith>[0], extra: Record<string, unknown> = {}) => {
    const dir = base(tool, extra);
    await lockWith(tool, dir, registry.url, env);
    projects.set(key, dir);
  };
  await Promise.all([lock('package-lock.json', 'npm'), lock('pnpm-lock.yaml', 'pnpm'), lock('yarn.lock (v1)', 'yarn1'), lock('yarn.lock (berry)', 'yarnBerry', { packageManager: 'yarn@4.18.1' })]);
  // Map insertion order is the order the assertions below list the package managers in.
  const order = ['package-lock.json', 'pnpm-lock.yaml', 'yarn.lock (v1)', 'yarn.lock (berry)'];
  const sorted = order.map((k) => [k, projects.get(k)!] as const);
  projects.clear();
  for (const [k, v] of sorted) projects.set(k, v);
}, 240_000);
afterAll(() => registry?.close());

interface Report {
  format: string;
  packageManager: { name: string; source: string; ownGuards: string[] };
  policy: { minimumReleaseAge: { ms: number; source: string }[]; unlistedScripts: string; unlistedScriptsSource?: string; trustPolicy: { mode: string; source: string }; settingsRead: string[] };
  summary: { exitCode: number };
  packages: { name: string; version: string; verdict: string; findings: { code: string; message: string; action: string }[] }[];
}

async function check(dir: string, ...args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const res = await cli(['check', '--json', ...args], { cwd: dir, env: cleanEnv(registry.url) });
  return { code: res.code, report: res.stdout ? JSON.parse(res.stdout) : undefined, stderr: res.stderr };
}

/** A copy of one locked project, to add settings to. */
function copyOf(lockfile: string): string {
  const dir = tempDir('si-pm-copy-');
  cpSync(projects.get(lockfile)!, dir, { recursive: true });
  return dir;
}

/**
 * name@version -> "verdict: codes". Berry lockfiles record no registry integrity (their checksum hashes yarn's own
 * zip), which is a warning of its own: it is left out so the rest can be compared.
 */
const BERRY_ONLY = 'no-lockfile-integrity';
const verdictsOf = (r: Report) =>
  Object.fromEntries(
    r.packages
      .map((p) => {
        const findings = p.findings.filter((f) => f.code !== BERRY_ONLY);
        const verdict = p.verdict === 'warn' && !findings.some((f) => f.action === 'warn') ? 'allow' : p.verdict;
        return [
          `${p.name}@${p.version}`,
          `${verdict}: ${findings
            .map((f) => f.code)
            .sort()
            .join(',')}`,
        ];
      })
      .sort(),
  );

describe('the same tree, whichever lockfile describes it', () => {
  it('gives the same verdicts from package-lock.json, pnpm-lock.yaml, yarn.lock v1 and berry', async () => {
    const results = new Map<string, Report>();
    for (const [lockfile, dir] of projects) {
      const { code, report, stderr } = await check(dir);
      expect(code, `${lockfile}: ${stderr}`).toBe(1);
      results.set(lockfile, report);
    }
    const npmVerdicts = verdictsOf(results.get('package-lock.json')!);
    // The tree: five packages; the two-day-old version is held by the default 7-day age.
    expect(Object.keys(npmVerdicts)).toEqual(['app-lib@1.0.0', 'deep-dep@2.1.0', 'ten-days@1.0.0', 'two-days@1.0.0', 'with-script@1.0.0']);
    expect(npmVerdicts['two-days@1.0.0']).toMatch(/^(quarantine|block): .*too-young/);
    expect(npmVerdicts['ten-days@1.0.0']).not.toMatch(/too-young/);
    for (const [lockfile, report] of results) {
      expect(verdictsOf(report), lockfile).toEqual(npmVerdicts);
    }
    // ...and berry's missing integrity is said, not silently passed.
    expect(results.get('yarn.lock (berry)')!.packages.every((p) => p.findings.some((f) => f.code === BERRY_ONLY))).toBe(true);
    expect([...results.values()].map((r) => r.packageManager.name)).toEqual(['npm', 'pnpm', 'yarn', 'yarn']);
    expect(results.get('yarn.lock (berry)')!.format).toBe('yarn-berry');
  });

  it('reports what each package manager guards itself on a frozen install', async () => {
    const pnpm = (await check(projects.get('pnpm-lock.yaml')!)).report;
    expect(pnpm.packageManager.ownGuards.join('\n')).toMatch(/resolution only before pnpm 11\.1\.3/);
    const berry = (await check(projects.get('yarn.lock (berry)')!)).report;
    // package.json says yarn@4.18.1; the project has no npmMinimalAgeGate of its own.
    expect(berry.packageManager.ownGuards.join('\n')).toMatch(/npmMinimalAgeGate .* applies at resolution only: `yarn install --immutable` does not re-gate/);
  });
});

describe('pnpm settings as inputs', () => {
  it('minimumReleaseAge in pnpm-workspace.yaml (minutes) holds a version the 7-day policy allows, naming its source', async () => {
    const dir = copyOf('pnpm-lock.yaml');
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'minimumReleaseAge: 20160\nminimumReleaseAgeExclude:\n  - app-lib\n');
    const { code, report } = await check(dir);
    expect(code).toBe(1);
    const ten = report.packages.find((p) => p.name === 'ten-days')!;
    expect(ten.verdict).not.toBe('allow');
    expect(ten.findings.find((f) => f.code === 'too-young')!.message).toMatch(/pnpm-workspace\.yaml minimumReleaseAge/);
    expect(report.policy.minimumReleaseAge.map((r) => r.source)).toEqual(['default policy', 'pnpm-workspace.yaml minimumReleaseAge']);
    // Excluded from pnpm's rule only: app-lib is 400 days old and passes the policy's own rule anyway.
    expect(report.packages.find((p) => p.name === 'app-lib')!.findings.some((f) => f.code === 'too-young')).toBe(false);
  });

  it('a weaker pnpm age does not loosen the policy, and .npmrc minimum-release-age counts when the yaml is silent', async () => {
    const weak = copyOf('pnpm-lock.yaml');
    writeFileSync(join(weak, 'pnpm-workspace.yaml'), 'minimumReleaseAge: 60\n');
    const w = await check(weak);
    expect(w.report.packages.find((p) => p.name === 'two-days')!.verdict).not.toBe('allow');

    const rc = copyOf('pnpm-lock.yaml');
    writeFileSync(join(rc, '.npmrc'), 'minimum-release-age=20160\n');
    const r = await check(rc);
    expect(
      r.report.packages
        .find((p) => p.name === 'ten-days')!
        .findings.map((f) => f.message)
        .join(),
    ).toMatch(/\.npmrc minimum-release-age \(project\)/);
  });

  it('strictDepBuilds makes an unlisted install script block, and trustPolicy turns the trust check on when the policy has it off', async () => {
    const dir = copyOf('pnpm-lock.yaml');
    writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify({ trustPolicy: 'off' }));
    const before = await check(dir);
    expect(before.report.policy.unlistedScripts).toBe('skip');
    expect(before.report.packages.flatMap((p) => p.findings).some((f) => f.code === 'trust-undecidable')).toBe(false);

    writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'strictDepBuilds: true\ntrustPolicy: no-downgrade\ntrustPolicyExclude:\n  - deep-dep\n');
    const after = await check(dir);
    expect(after.report.policy.unlistedScripts).toBe('block');
    expect(after.report.policy.unlistedScriptsSource).toBe('pnpm-workspace.yaml strictDepBuilds');
    const script = after.report.packages.find((p) => p.name === 'with-script')!;
    expect(script.verdict).toBe('block');
    // This registry serves no publisher data: with the trust check on, that is said; the excluded package is not asked.
    expect(after.report.policy.trustPolicy).toEqual({ mode: 'no-downgrade', source: 'pnpm-workspace.yaml trustPolicy' });
    const undecidable = after.report.packages.filter((p) => p.findings.some((f) => f.code === 'trust-undecidable')).map((p) => p.name);
    expect(undecidable).toContain('app-lib');
    expect(undecidable).not.toContain('deep-dep');
  });

  it('an unusable pnpm setting is a configuration error (exit 2), not ignored', async () => {
    const dir = copyOf('pnpm-lock.yaml');
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'minimumReleaseAge: soon\n');
    const res = await cli(['check'], { cwd: dir, env: cleanEnv(registry.url) });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/pnpm-workspace\.yaml minimumReleaseAge must be a number of minutes/);
  });
});

describe('yarn settings as inputs', () => {
  it('npmMinimalAgeGate in .yarnrc.yml (a duration) holds a version, npmPreapprovedPackages excludes from it', async () => {
    const dir = copyOf('yarn.lock (berry)');
    writeFileSync(join(dir, '.yarnrc.yml'), `npmRegistryServer: "${registry.url}"\nnpmMinimalAgeGate: 14d\nnpmPreapprovedPackages:\n  - with-script\n`);
    const { report } = await check(dir);
    expect(report.policy.minimumReleaseAge.map((r) => r.source)).toContain('.yarnrc.yml npmMinimalAgeGate');
    expect(report.packages.find((p) => p.name === 'ten-days')!.findings.find((f) => f.code === 'too-young')!.message).toMatch(/\.yarnrc\.yml npmMinimalAgeGate/);
    expect(report.packages.find((p) => p.name === 'with-script')!.findings.some((f) => f.code === 'too-young')).toBe(false);
    expect(report.packageManager.ownGuards.join('\n')).toMatch(/\.yarnrc\.yml npmMinimalAgeGate\) applies at resolution only/);
  });

  it('npmRegistryServer in .yarnrc.yml is the registry checked against (yarn berry ignores .npmrc)', async () => {
    const dir = copyOf('yarn.lock (berry)');
    writeFileSync(join(dir, '.yarnrc.yml'), `npmRegistryServer: "${registry.url}"\n`);
    const res = await cli(['check', '--json'], { cwd: dir, env: cleanEnv('http://127.0.0.1:9/') });
    expect(JSON.parse(res.stdout).registry).toBe(registry.url.endsWith('/') ? registry.url : `${registry.url}/`);
    expect(res.code).toBe(1);
  });

  it('dependenciesMeta built: false denies a package its scripts', async () => {
    const dir = copyOf('yarn.lock (berry)');
    const pkg = { name: 'app', version: '1.0.0', private: true, dependencies: DEPS, dependenciesMeta: { 'with-script': { built: false } } };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
    writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify({ scripts: { allow: ['with-script'] } }));
    const { report } = await check(dir);
    const codes = report.packages.find((p) => p.name === 'with-script')!.findings.map((f) => f.code);
    expect(codes).toContain('install-script-denied');
    expect(report.policy.settingsRead.join()).toMatch(/package\.json dependenciesMeta: 0 built, 1 not built/);
  });
});

describe('choosing the package manager', () => {
  it('--pm picks among several lockfiles; without it they are an error naming them', async () => {
    const dir = copyOf('pnpm-lock.yaml');
    cpSync(join(projects.get('package-lock.json')!, 'package-lock.json'), join(dir, 'package-lock.json'));
    const both = await cli(['check'], { cwd: dir, env: cleanEnv(registry.url) });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/more than one lockfile: package-lock\.json, pnpm-lock\.yaml; pass --pm/);
    const pnpm = await check(dir, '--pm', 'pnpm');
    expect(pnpm.report.format).toBe('pnpm-v9');
    expect(pnpm.report.packageManager.source).toBe('--pm');
    const npmPick = await check(dir, '--pm', 'npm');
    expect(npmPick.report.format).toBe('npm-v3');
  });

  it('--pm naming a package manager with no lockfile here, or an unknown one, is an error', async () => {
    const dir = projects.get('package-lock.json')!;
    const yarn = await cli(['check', '--pm', 'yarn'], { cwd: dir, env: cleanEnv(registry.url) });
    expect(yarn.code).toBe(2);
    expect(yarn.stderr).toMatch(/--pm yarn: no yarn\.lock found \(found package-lock\.json\)/);
    expect(yarn.stderr).toMatch(/yarn install/);
    const bun = await cli(['check', '--pm', 'bun'], { cwd: dir, env: cleanEnv(registry.url) });
    expect(bun.code).toBe(2);
    expect(bun.stderr).toMatch(/--pm must be npm, pnpm or yarn/);
  });

  it('a packageManager field that disagrees with the lockfile is an error unless --pm says which', async () => {
    const dir = copyOf('package-lock.json');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: DEPS, packageManager: 'pnpm@10.34.9' }));
    const res = await cli(['check'], { cwd: dir, env: cleanEnv(registry.url) });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/"packageManager" says pnpm, but the lockfile is package-lock\.json \(npm\)/);
    const forced = await check(dir, '--pm', 'npm');
    expect(forced.code).toBe(1);
    expect(forced.report.packageManager.name).toBe('npm');
  });

  it('the packageManager version is used to say what pnpm re-checks itself', async () => {
    const dir = copyOf('pnpm-lock.yaml');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: DEPS, packageManager: 'pnpm@11.2.0+sha512.abc' }));
    const { report } = await check(dir);
    expect(report.packageManager.ownGuards.join('\n')).toMatch(/re-checks locked versions on install \(pnpm 11\.2\.0, unless trustLockfile is set\)/);
  });
});
