// The GitHub Actions workflow `init --ci github` writes: actions pinned by full commit SHA (version in a
// comment), read-only token, no pull_request_target, no dependency cache, the guard in place of `npm ci`
// before the build, and the SARIF uploaded for code scanning.
export const PINNED = {
  checkout: { sha: '3d3c42e5aac5ba805825da76410c181273ba90b1', version: 'v7.0.1' },
  setupNode: { sha: '820762786026740c76f36085b0efc47a31fe5020', version: 'v7.0.0' },
  uploadSarif: { sha: '8aad20d150bbac5944a9f9d289da16a4b0d87c1e', version: 'v4.36.2' },
};

export const WORKFLOW_PATH = '.github/workflows/safe-install.yml';

export function githubWorkflow(opts: { toolSpec: string; nodeVersion?: string }): string {
  const node = opts.nodeVersion ?? '20';
  return `# Written by safe-install init --ci github. Every action is pinned by commit SHA (version in the comment);
# update them deliberately. The job token can only read the repository, except to upload the SARIF report.
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
      - name: Check the lockfile
        run: npx --yes ${opts.toolSpec} check --format sarif=safe-install.sarif,github
      - name: Upload the report to code scanning
        if: always() && hashFiles('safe-install.sarif') != ''
        uses: github/codeql-action/upload-sarif@${PINNED.uploadSarif.sha} # ${PINNED.uploadSarif.version}
        with:
          sarif_file: safe-install.sarif
          category: safe-install
      - name: Install (in place of npm ci)
        run: npx --yes ${opts.toolSpec} --no-input
      - name: Build
        run: npm run build --if-present
`;
}
