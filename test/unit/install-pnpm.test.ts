// The pnpm runner's ordering of the project's own folders (pnpm's sortProjects): dependencies first, by what each
// project asks for, cycles as one chunk, the lockfile's order within a chunk.
import { describe, expect, it } from 'vitest';
import { graphSequencer, projectOrder } from '../../src/install/pnpm.js';
import type { ProjectFolder } from '../../src/install/project-scripts.js';
import { at } from '../../src/util/at.js';

const folder = (folder: string, name: string, deps: Record<string, string> = {}, version = '1.0.0'): ProjectFolder => ({ folder, name, version, scripts: {}, deps, manifest: { name, version } });
const order = (projects: ProjectFolder[]) => projectOrder(projects).map((p) => p.folder || '(root)');

describe('pnpm project order', () => {
  it('puts a project after the workspaces it depends on, whatever the lockfile order', () => {
    const projects = [folder('', 'app', { b: 'workspace:*' }), folder('packages/b', 'b', { a: 'workspace:^1.0.0' }), folder('packages/a', 'a')];
    expect(order(projects)).toEqual(['packages/a', 'packages/b', '(root)']);
  });

  it('counts link: paths and satisfied ranges as edges, and neither another name nor an unsatisfied range', () => {
    const projects = [folder('', 'app', { c: 'link:packages/c', b: '^1.0.0', a: '^2.0.0', lodash: '^4.0.0' }), folder('packages/a', 'a'), folder('packages/b', 'b'), folder('packages/c', 'c')];
    expect(order(projects)).toEqual(['packages/a', 'packages/b', 'packages/c', '(root)']);
    // a@1.0.0 does not satisfy ^2.0.0 (pnpm installs that one from the registry): no edge, so the root keeps its
    // lockfile place before a.
    expect(projectOrder(projects.slice(0, 2)).map((p) => p.folder)).toEqual(['', 'packages/a']);
    // Each edge alone moves the root after its target.
    expect(order([at(projects, 0), at(projects, 3)])).toEqual(['packages/c', '(root)']);
    expect(order([at(projects, 0), at(projects, 2)])).toEqual(['packages/b', '(root)']);
    expect(order([folder('', 'app', { c: 'link:packages/other' }), at(projects, 3)])).toEqual(['(root)', 'packages/c']);
  });

  it('runs a cycle as one chunk, in the lockfile order, after what the cycle depends on', () => {
    const projects = [folder('packages/x', 'x', { y: 'workspace:*', base: 'workspace:*' }), folder('packages/y', 'y', { x: 'workspace:*' }), folder('packages/base', 'base')];
    expect(order(projects)).toEqual(['packages/base', 'packages/x', 'packages/y']);
  });

  it('graphSequencer: chunks whose dependencies are all in earlier chunks', () => {
    const graph = new Map([
      ['a', ['b', 'c']],
      ['b', ['c']],
      ['c', []],
      ['d', []],
    ]);
    expect(graphSequencer(graph).map((c) => [...c].sort())).toEqual([['c', 'd'], ['b'], ['a']]);
  });
});
