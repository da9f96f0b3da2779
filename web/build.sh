#!/usr/bin/env bash
# Rebuilds web/dist/ (the bundle the binary embeds) from web/src/ with the locked npm packages.
# Needs Node 20+ and npm; run it after changing anything under web/ and commit dist/ with it.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
node build.mjs
