// The GitHub Actions workflow `init --ci github` writes: actions pinned by full commit SHA (version in a
// comment), read-only token, no pull_request_target, no dependency cache, the guard in place of the frozen install
// before the build, and the SARIF uploaded for code scanning. The guard itself is this repository's action
// (action.yml), pinned by the release commit's SHA from the package's release data (release.ts): nothing is
// installed at CI time. A build without release data (a checkout) falls back to npx, and says it is not pinned.
import type { ReleaseData } from './release.js';
export const PINNED = {
  checkout: { sha: '3d3c42e5aac5ba805825da76410c181273ba90b1', version: 'v7.0.1' },
  setupNode: { sha: '820762786026740c76f36085b0efc47a31fe5020', version: 'v7.0.0' },
  uploadSarif: { sha: '8aad20d150bbac5944a9f9d289da16a4b0d87c1e', version: 'v4.36.2' },
};

export const WORKFLOW_PATH = '.github/workflows/safe-install.yml';

/** What differs per package manager: how it gets on the runner, and what the guarded install replaces. */
const PM_STEPS = {
  npm: { setup: '', replaces: 'npm ci', build: 'npm run build --if-present' },
  // corepack ships with Node and installs the version package.json "packageManager" names: no third-party action.
  pnpm: {
    setup: '      - name: Enable pnpm (corepack, the version package.json packageManager names)\n        run: corepack enable\n',
    replaces: 'pnpm install --frozen-lockfile',
    build: 'pnpm run --if-present build',
  },
  yarn: {
    setup: '      - name: Enable yarn (corepack, the version package.json packageManager names)\n        run: corepack enable\n',
    replaces: 'yarn install --frozen-lockfile / --immutable',
    // yarn has no --if-present; run the build only when package.json has one.
    build: `if node -e "process.exit(require('./package.json').scripts?.build ? 0 : 1)"; then yarn run build; fi`,
  },
} as const;

/** The two guard steps: the pinned action with the release data, else npx (not pinned by integrity: said). */
function guardSteps(version: string, release: ReleaseData | undefined): { check: string; install: string } {
  if (release) {
    const uses = `        uses: ${release.actionRepository}@${release.actionSha} # v${release.version}\n`;
    return {
      check: `      - name: Check the lockfile\n${uses}        with:\n          command: check\n          format: sarif=safe-install.sarif,github\n`,
      install: `${uses}        with:\n          command: ci\n`,
    };
  }
  const spec = `safe-install@${version}`;
  return {
    check:
      `      # This safe-install had no release data (a development build), so the action could not be pinned by\n` +
      `      # commit SHA: npx fetches ${spec} unpinned by integrity. Pin it: docs/guide/pinning-the-guard.md.\n` +
      `      - name: Check the lockfile\n        run: npx --yes ${spec} check --format sarif=safe-install.sarif,github\n`,
    install: `        run: npx --yes ${spec} --no-input\n`,
  };
}

export function githubWorkflow(opts: { version: string; release?: ReleaseData; nodeVersion?: string; pm?: keyof typeof PM_STEPS }): string {
  const node = opts.nodeVersion ?? '20';
  const pm = PM_STEPS[opts.pm ?? 'npm'];
  const guard = guardSteps(opts.version, opts.release);
  return `# Written by safe-install init --ci github. Every action is pinned by commit SHA (version in the comment);
# update them deliberately (safe-install's own: run init --ci github again after updating safe-install). The job token can only read the repository, except to upload the SARIF report.
name: safe-install

on:
  push:
    branches: [main]
  pull_request:

permissions:
  contents: read

jobs:
  guarded-install:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write
    env:
      CI: true
    steps:
      - uses: actions/checkout@${PINNED.checkout.sha} # ${PINNED.checkout.version}
        with:
          persist-credentials: false
      # No dependency caching here (a poisoned cache is one of the ways in).
      - uses: actions/setup-node@${PINNED.setupNode.sha} # ${PINNED.setupNode.version}
        with:
          node-version: "${node}"
${pm.setup}${guard.check}      - name: Upload the report to code scanning
        if: always() && hashFiles('safe-install.sarif') != ''
        uses: github/codeql-action/upload-sarif@${PINNED.uploadSarif.sha} # ${PINNED.uploadSarif.version}
        with:
          sarif_file: safe-install.sarif
          category: safe-install
      - name: Install (in place of ${pm.replaces})
${guard.install}      - name: Build
        run: |
          ${pm.build}
`;
}
