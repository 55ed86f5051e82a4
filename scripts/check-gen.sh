#!/usr/bin/env bash
# Regenerates gen/ from proto/ and fails if the committed code differs.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf generate
if [ -n "$(git status --porcelain -- gen)" ]; then
  echo "gen/ is out of date with proto/: run 'npm run generate' and commit" >&2
  git status --porcelain -- gen >&2
  exit 1
fi
echo "gen/ matches proto/"
