#!/usr/bin/env bash
# Runs the SDK tests: installs the pinned SDKs from package-lock.json when
# node_modules is missing, then Node's built-in test runner. BASALT_BIN names the
# binary (default: build/release/basalt).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are required (Node 20+)" >&2
  exit 1
fi
# node_modules/.basalt-lock is the package-lock.json it was installed from: a
# changed lock file (a new SDK) reinstalls.
if ! cmp -s package-lock.json node_modules/.basalt-lock 2>/dev/null; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.basalt-lock
fi
exec node --test --test-concurrency=1 openai.test.mjs anthropic.test.mjs bedrock.test.mjs bedrock_kb.test.mjs tenancy.test.mjs
