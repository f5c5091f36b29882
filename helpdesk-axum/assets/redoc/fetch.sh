#!/usr/bin/env bash
# Fetches the ReDoc bundle this crate serves from the npm registry and checks it against the
# checksum written in README.md. Usage: ./fetch.sh [VERSION] (then update README.md's table).
set -euo pipefail
cd "$(dirname "$0")"
version=${1:-2.5.4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "redoc@$version" >/dev/null && tar xzf "redoc-$version.tgz")
cp "$work/package/bundles/redoc.standalone.js" "$work/package/bundles/redoc.standalone.js.LICENSE.txt" .
cp "$work/package/LICENSE" LICENSE
expected=$(sed -n 's/^| sha256 of redoc.standalone.js | `\([0-9a-f]*\)` |$/\1/p' README.md)
actual=$(sha256sum redoc.standalone.js | cut -d' ' -f1)
if [ "$version" = 2.5.4 ] && [ "$actual" != "$expected" ]; then
  echo "checksum mismatch: expected $expected, got $actual" >&2
  exit 1
fi
echo "redoc $version: sha256 $actual"
