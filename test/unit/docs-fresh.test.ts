// The reference pages in docs/reference/ are generated (npm run docs) from the command definitions the CLI parses
// with and from the finding catalog; a command, flag or finding changed without regenerating them fails here.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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
