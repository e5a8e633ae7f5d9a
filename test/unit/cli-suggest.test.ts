// The "did you mean" of an unknown command or flag (src/cli/suggest.ts).
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, similar } from '../../src/cli/suggest.js';

const COMMANDS = ['check', 'scripts', 'add', 'install', 'i', 'update', 'up', 'init', 'hook', 'fix', 'inspect', 'quarantine', 'approve', 'approvals', 'trust', 'ci', 'help'];

describe('suggestions', () => {
  it('counts insertions, deletions, substitutions and swapped neighbours as one edit each', () => {
    expect(editDistance('check', 'check')).toBe(0);
    expect(editDistance('chek', 'check')).toBe(1);
    expect(editDistance('chekc', 'check')).toBe(1);
    expect(editDistance('aprove', 'approve')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('names the closest command, or several equally close, or none', () => {
    expect(similar('chek', COMMANDS)).toEqual(['check']);
    expect(similar('aprove', COMMANDS)).toEqual(['approve']);
    expect(similar('approvels', COMMANDS)).toEqual(['approvals']);
    expect(similar('xyzzy', COMMANDS)).toEqual([]);
    expect(didYouMean('fixx', COMMANDS)).toBe('\n(Did you mean fix?)');
    expect(didYouMean('lodash', COMMANDS)).toBe('');
  });

  it('compares flags without dashes or a value, and never offers a one-letter guess', () => {
    expect(similar('--verison', ['--version', '--help', '--debug'])).toEqual(['--version']);
    expect(similar('--registy=http://x', ['--registry', '--retries'])).toEqual(['--registry']);
    expect(similar('--omit=dev', ['--now', '--pm', '--cwd', '--offline'])).toEqual([]);
    expect(similar('j', ['i', 'up'])).toEqual([]);
  });
});
