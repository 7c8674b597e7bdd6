#!/bin/sh
# Fails when the committed build (console/dist) is not what the sources and
# the lockfile build: rebuilds into a temporary directory and compares every
# file. The build is deterministic (same inputs, same lockfile, same bytes).
# Needs node_modules (npm ci).
set -eu
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx tsc --noEmit
npx vite build --logLevel warn --outDir "$out" --emptyOutDir
node scripts/source-hash.mjs write "$out"
if ! diff -r dist "$out" >/dev/null; then
  echo "console/dist is stale: it differs from a fresh build of the sources:" >&2
  diff -rq dist "$out" >&2 || true
  echo "run 'npm ci && npm run build' in console/ and commit console/dist" >&2
  exit 1
fi
echo "console/dist matches a fresh build"
