#!/usr/bin/env bash
# Regenerates the Python and Go client stubs (clients/python/gen,
# clients/go/gen) from proto/ and fails if the committed code differs.
# Needs protoc, grpc_python_plugin, protoc-gen-go and protoc-gen-go-grpc
# (scripts/install-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
npx buf generate --template buf.gen.python.yaml
npx buf generate --template buf.gen.go.yaml
if [ -n "$(git status --porcelain -- clients/python/gen clients/go/gen)" ]; then
  echo "client stubs are out of date with proto/: run 'npm run generate:clients' and commit" >&2
  git status --porcelain -- clients/python/gen clients/go/gen >&2
  exit 1
fi
echo "clients/python/gen and clients/go/gen match proto/"
