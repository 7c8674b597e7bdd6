#!/usr/bin/env bash
# Regenerates client.gen.go from api/openapi.yaml with the oapi-codegen
# version go.mod pins (tools.go). With --check, fails when the committed
# file differs from a fresh generation.
set -euo pipefail
cd "$(dirname "$0")"
go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config oapi-codegen.yaml ../../api/openapi.yaml
if [ "${1:-}" = "--check" ]; then
  if ! git diff --exit-code -- client.gen.go; then
    echo "sdk/go/client.gen.go is stale: run sdk/go/generate.sh and commit the result" >&2
    exit 1
  fi
  if [ -n "$(git ls-files --others --exclude-standard -- client.gen.go)" ]; then
    echo "sdk/go/client.gen.go is not committed" >&2
    exit 1
  fi
fi
