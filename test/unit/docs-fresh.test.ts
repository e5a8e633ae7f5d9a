// The reference pages in docs/reference/ are generated (npm run docs) from the command definitions the CLI parses
// with and from the finding catalog; a command, flag or finding changed without regenerating them fails here.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG, FINDING_CODES } from '../../src/checks/catalog.js';
import { commonOptions } from '../../src/cli/options.js';
import { buildProgram } from '../../src/cli/main.js';
import { referencePages } from '../../src/docs/reference.js';

const pages = referencePages();

describe('the generated reference pages', () => {
  for (const [path, text] of Object.entries(pages)) {
    it(`${path} is what npm run docs writes`, () => {
      let committed: string;
      try {
        committed = readFileSync(resolve(path), 'utf8');
      } catch {
        committed = '';
      }
      // A plain equality (no snapshot): the message says how to fix it.
      expect(committed === text, `${path} is stale: run npm run docs and commit the result`).toBe(true);
    });
  }

  it('the commands page names every command, alias and flag the CLI defines', () => {
    const page = pages['docs/reference/commands.md'] ?? '';
    const walk = (cmd: ReturnType<typeof buildProgram>, prefix: string): void => {
      for (const c of cmd.commands) {
        const path = `${prefix} ${c.name()}`;
        expect(page).toContain(`## ${path}\n`);
        for (const a of c.aliases()) expect(page).toContain(`\`${a}\``);
        for (const o of c.options) expect(page).toContain(`\`${o.flags.replace(/\|/g, '\\|')}\``);
        walk(c, path);
      }
    };
    walk(buildProgram([]), 'safe-install');
    for (const o of commonOptions()) expect(page).toContain(`\`${o.flags.replace(/\|/g, '\\|')}\``);
  });

  it('the findings page has every finding code with its remedy', () => {
    const page = pages['docs/reference/findings.md'] ?? '';
    for (const code of FINDING_CODES) {
      expect(page).toContain(`### ${code}\n`);
      expect(page).toContain(CATALOG[code].todo);
    }
  });
});

// Pages other work is writing (issue 17's siblings); remove an entry once its page is merged.
const PENDING = new Set<string>();

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set(
    [...prose.matchAll(/^#+ (.*)$/gm)].map((m) =>
      (m[1] ?? '')
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    ),
  );
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? markdownFiles(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []));
}

describe('the README and docs/', () => {
  it('the README stays short (at most ~10 KB): the rest belongs in docs/', () => {
    expect(statSync(resolve('README.md')).size).toBeLessThanOrEqual(10 * 1024);
  });

  it('every relative link and anchor points at something that exists', () => {
    const files = ['README.md', 'CONTRIBUTING.md', 'SECURITY.md', 'CHANGELOG.md', ...markdownFiles('docs')];
    const broken: string[] = [];
    for (const file of files) {
      const prose = readFileSync(resolve(file), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1] ?? '';
        if (/^[a-z]+:/.test(link)) continue;
        const [path = '', anchor] = link.split('#');
        const target = path ? normalize(join(dirname(file), path)) : file;
        if (!existsSync(resolve(target))) {
          if (!PENDING.has(target)) broken.push(`${file}: ${link}`);
          continue;
        }
        if (anchor && target.endsWith('.md') && !anchorsOf(readFileSync(resolve(target), 'utf8')).has(anchor)) broken.push(`${file}: ${link}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
