// Issue 14, bypass 7: registry and lockfile text reaching the terminal and the CI log raw.
//
// A packument's `time[version]` is registry text. V8's Date.parse reads far more than ISO 8601: it skips a
// parenthesised comment (so "Mon Jan 01 2024 00:00:00 GMT+0000 (\n::error ::pwned\x1b[31m)" is a date) and reads
// "1" as the year 2001. The guard printed such a time as is in its too-young message: on GitHub Actions (the
// generated workflow runs the text report) the line break starts a new log line, `::error ::pwned` is a
// workflow command the runner obeys, and the escape sequence recolours the terminal. A lockfile's `resolved`
// reaches the report the same way. npm never prints either, and installs the same project without a word.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { lockWith } from '../integration/helpers.js';
import { attackProject, noStackTrace } from './attack.js';

/** Accepted by Date.parse (the comment is skipped), with a line break, a workflow command and an escape sequence. */
const COMMENTED = 'Mon Jan 01 2024 00:00:00 GMT+0000 (\n::error ::pwned\u001b[31m)';
/** ISO 8601 with the same tail (Date.parse rejects it, but it is registry text all the same). */
const ISO_TAILED = '2024-01-01T00:00:00Z\n::error ::pwned\u001b[31m';
/** Date.parse reads it as 2001-01-01. */
const ONE = '1';
/** Two days after the dates above: a version published "2024-01-01" is too young for the 7-day default. */
const NOW = '2024-01-03T00:00:00Z';

const TIMES: Record<string, string> = { 'time-commented': COMMENTED, 'time-tailed': ISO_TAILED, 'time-one': ONE };

let registry: TestRegistry;
beforeAll(async () => {
  registry = await TestRegistry.start();
  for (const [name, publishedAt] of Object.entries(TIMES)) registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt }] });
});
afterAll(() => registry.close());

/** Control characters other than the line breaks of the report itself: an escape sequence, a carriage return, C1. */
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Lines a GitHub runner takes for a workflow command (it trims leading blanks), other than those `github` emits on purpose. */
function foreignCommands(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trimStart())
    .filter((l) => l.startsWith('::'))
    .filter((l) => !/^::stop-commands::safe-install-[0-9a-f]{24}$/.test(l) && !/^::safe-install-[0-9a-f]{24}::$/.test(l) && !/^::(error|warning|notice) file=[^:]*::/.test(l));
}

describe('registry text in the report (issue 14, bypass 7)', () => {
  it('publish times that carry a workflow command, an escape sequence or a bare "1" are no-publish-time, and nothing raw reaches text, github, SARIF or JSON', async () => {
    const p = attackProject(registry, { dependencies: { 'time-commented': '1.0.0', 'time-one': '1.0.0' } });
    await lockWith('npm', p.dir, registry.url, p.env);

    // Without the guard: the registry serves these times and npm installs the project without a word.
    const packument = (await (await fetch(`${registry.url}time-commented`)).json()) as { time: Record<string, string> };
    expect(packument.time['1.0.0']).toBe(COMMENTED);
    expect(Number.isFinite(Date.parse(COMMENTED))).toBe(true); // what a lenient reading takes for a date
    expect(new Date(Date.parse(ONE)).getUTCFullYear()).toBe(2001);
    const plain = await p.npm('ci', '--ignore-scripts');
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout + plain.stderr).not.toContain('pwned');

    // npm itself refuses a version whose time is ISO 8601 with that tail (ETARGET); the guard reads the lockfile
    // and the registry all the same, so it is added to the lockfile by hand for the guard's runs.
    const lockPath = join(p.dir, 'package-lock.json');
    const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
    lock.packages[''].dependencies['time-tailed'] = '1.0.0';
    lock.packages['node_modules/time-tailed'] = { version: '1.0.0', integrity: registry.integrityOf('time-tailed', '1.0.0') };
    writeFileSync(lockPath, JSON.stringify(lock, null, 2));

    // The text report, as the generated workflow runs it.
    const text = await p.guard('check', '--now', NOW);
    expect(text.code, text.stderr).toBe(1);
    expect(noStackTrace(text.stdout + text.stderr)).toBe(true);
    for (const name of Object.keys(TIMES)) expect(text.stdout).toMatch(new RegExp(`${name}@1\\.0\\.0\\s+no-publish-time`));
    expect(text.stdout).not.toMatch(CONTROL);
    expect(foreignCommands(text.stdout)).toEqual([]);
    expect(text.stdout).not.toContain('pwned');

    // The GitHub format, with every other report written to files in the same run.
    const summary = join(p.dir, 'summary.md');
    writeFileSync(summary, '');
    const gh = await p.guard('check', '--now', NOW, '--format', 'github,sarif=out.sarif,json=out.json');
    expect(gh.code, gh.stderr).toBe(1);
    expect(gh.stdout).not.toMatch(CONTROL);
    expect(foreignCommands(gh.stdout)).toEqual([]);
    expect(gh.stdout).toMatch(/^::error file=package-lock\.json,line=\d+,title=no-publish-time time-commented@1\.0\.0::/m);

    const json = JSON.parse(readFileSync(join(p.dir, 'out.json'), 'utf8'));
    for (const name of Object.keys(TIMES)) {
      const pkg = json.packages.find((x: { name: string }) => x.name === name);
      expect(pkg.findings.map((f: { code: string }) => f.code)).toContain('no-publish-time');
      expect(pkg.verdict).toBe('block');
    }
    const sarif = JSON.parse(readFileSync(join(p.dir, 'out.sarif'), 'utf8'));
    const messages: string[] = sarif.runs[0].results.map((r: { message: { text: string } }) => r.message.text);
    expect(messages.filter((m) => m.includes('no-publish-time') || m.includes('no publish time')).length).toBe(3);
    for (const m of messages) expect(m).not.toMatch(CONTROL);
  });

  it('a lockfile entry whose resolved URL carries a line break and a workflow command is reported as inert text', async () => {
    const p = attackProject(registry, { dependencies: { 'time-one': '1.0.0' } });
    const evil = 'https://evil.example/x.tgz\n::error ::owned\u001b]0;title\u0007';
    writeFileSync(
      join(p.dir, 'package-lock.json'),
      JSON.stringify({
        name: 'app',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'app', version: '1.0.0', dependencies: { 'time-one': '1.0.0' } },
          'node_modules/time-one': { version: '1.0.0', resolved: registry.tarballUrl('time-one', '1.0.0'), integrity: registry.integrityOf('time-one', '1.0.0'), dependencies: { x: '*' } },
          'node_modules/x': { version: '1.0.0', resolved: evil },
        },
      }),
    );
    for (const format of ['text', 'github']) {
      const res = await p.guard('check', '--now', NOW, '--format', format);
      expect(res.code, res.stderr).toBe(1);
      expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
      expect(res.stdout).toContain('tarball-source');
      expect(res.stdout).not.toMatch(CONTROL);
      expect(foreignCommands(res.stdout)).toEqual([]);
      // Still there for a person to read, as an escape.
      expect(res.stdout).toContain('x.tgz\\n::error ::owned\\x1b]0;title\\x07');
    }
  });
});
