#!/usr/bin/env bash
# Fetches the Swagger UI files that `GET /docs` serves, embedded in the binary, so the docs page
# works offline and the build downloads nothing (utoipa-swagger-ui would fetch at build time).
#
# Source: the npm package swagger-ui-dist (Apache-2.0), pinned below. Run from anywhere; it
# rewrites crates/http/assets/swagger-ui/{swagger-ui-bundle.js,swagger-ui.css,LICENSE,VERSION}.
set -euo pipefail
VERSION="5.35.0"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/crates/http/assets/swagger-ui"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tar -xzf "$work"/swagger-ui-dist-"$VERSION".tgz -C "$work"
mkdir -p "$dest"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE; do
  cp "$work/package/$f" "$dest/$f"
done
echo "swagger-ui-dist@$VERSION" > "$dest/VERSION"
sha256sum "$dest"/swagger-ui-bundle.js "$dest"/swagger-ui.css
