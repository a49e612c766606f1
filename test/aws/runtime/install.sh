#!/usr/bin/env bash
# Installs AWS's Node.js runtime interface client (aws-lambda-ric 4.x) and the Node 22 and 24 binaries
# the functions run on, from this directory's lockfile. aws-lambda-ric needs Node >= 22 (on Node 20 npm
# would resolve 3.x, whose native build fails), so its native part is built with the Node 22 installed
# here, not with whatever Node runs npm. Skipped when the lockfile has not changed since the last build.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.installed-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f node_modules/aws-lambda-ric/rapid-client.node ]; then
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
PATH="$(pwd)/node_modules/node22/bin:$PATH" npm rebuild aws-lambda-ric --loglevel=error >/dev/null
test -f node_modules/aws-lambda-ric/rapid-client.node
echo "$want" > "$stamp"
echo "aws-lambda-ric $(node -p "require('./node_modules/aws-lambda-ric/package.json').version") on $(node_modules/node22/bin/node --version) and $(node_modules/node24/bin/node --version)"
