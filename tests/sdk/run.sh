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
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
exec node --test --test-concurrency=1 openai.test.mjs anthropic.test.mjs bedrock.test.mjs tenancy.test.mjs
