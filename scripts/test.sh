#!/usr/bin/env bash
# Installs what the tests need (scripts/setup.sh --test), then runs every test suite (npm test).
# The last line of output is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec npm test --silent
