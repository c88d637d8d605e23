#!/usr/bin/env bash
# Vendors Leaflet (BSD-2-Clause) from the npm registry into the package, so the page needs no
# CDN at run time and no build step: dist/leaflet.js, leaflet.css, images/ and the licence go to
# api/static/leaflet/, with VERSION recording the version and the tarball's sha512 (npm's
# integrity). Re-run with another version to upgrade: ./scripts/vendor_leaflet.sh 1.9.4
set -euo pipefail
version="${1:-1.9.4}"
cd "$(dirname "$0")/.."
dest=api/static/leaflet
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "leaflet@${version}" >/dev/null)
tarball="$(ls "$work"/leaflet-*.tgz)"
expected="$(npm view "leaflet@${version}" dist.integrity)"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$expected" != "$actual" ]]; then
    echo "vendor_leaflet: integrity mismatch: registry $expected, tarball $actual" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work"
rm -rf "$dest"
mkdir -p "$dest/images"
cp "$work/package/dist/leaflet.js" "$work/package/dist/leaflet.css" "$dest/"
cp "$work/package/dist/images/"*.png "$dest/images/"
cp "$work/package/LICENSE" "$dest/LICENSE"
{
    echo "leaflet ${version}"
    echo "source https://registry.npmjs.org/leaflet/-/leaflet-${version}.tgz"
    echo "integrity ${actual}"
    echo "files (sha256):"
    (cd "$dest" && find . -type f ! -name VERSION | sort | xargs sha256sum)
} > "$dest/VERSION"
echo "vendor_leaflet: leaflet ${version} in ${dest}"
