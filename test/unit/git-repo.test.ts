// gitRepo: the forms npm, pnpm and yarn write for one git repository are one repository (source-mismatch compares a
// git spec in package.json with the lockfile's git source by it).
import { describe, expect, it } from 'vitest';
import { gitRepo } from '../../src/project/package-json.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('gitRepo', () => {
  it('reads the hosted forms of one GitHub repository as the same, with the full commit when there is one', () => {
    const forms = [
      'github:Owner/Repo',
      'owner/repo',
      `git+ssh://git@github.com/owner/repo.git#${SHA}`,
      `git+https://github.com/owner/repo.git#${SHA}`,
      `https://github.com/owner/repo.git#commit=${SHA}`, // yarn berry
      `https://codeload.github.com/owner/repo/tar.gz/${SHA}`, // yarn 1, pnpm
      `https://github.com/owner/repo.git#${SHA}`, // pnpm's resolution.repo#commit
    ];
    for (const f of forms) expect(gitRepo('x', f)?.repo, f).toBe('github.com/owner/repo');
    expect(gitRepo('x', `github:owner/repo#${SHA.toUpperCase()}`)?.commit).toBe(SHA);
    expect(gitRepo('x', `https://github.com/owner/repo.git#head=main&commit=${SHA}`)?.commit).toBe(SHA);
    expect(gitRepo('x', 'github:owner/repo#v1.2.3')?.commit).toBeUndefined();
  });

  it('tells other repositories apart: another owner, host or path', () => {
    expect(gitRepo('x', 'github:evil/repo')?.repo).toBe('github.com/evil/repo');
    expect(gitRepo('x', 'git+https://gitlab.com/owner/repo.git')?.repo).toBe('gitlab.com/owner/repo');
    expect(gitRepo('x', 'https://gitlab.com/owner/repo/-/archive/v1/repo-v1.tar.gz')?.repo).toBe('gitlab.com/owner/repo');
    expect(gitRepo('x', 'git+ssh://git@git.example.com:2222/team/repo.git#main')?.repo).toBe('git.example.com:2222/team/repo');
    expect(gitRepo('x', 'file:///srv/git/repo#abc')?.repo).toBe('/srv/git/repo');
  });

  it('is undefined for what names no git repository', () => {
    expect(gitRepo('x', '^1.0.0')).toBeUndefined();
    expect(gitRepo('x', 'file:../lib')).toBeUndefined();
  });
});
