#!/usr/bin/env bash
# Vendors the RoutingKit sources our CCH binding (hazmat.routing._cch, routing/cch/_cch.cpp) compiles:
# RoutingKit (BSD-2-Clause, KIT) as the pyroutingkit sdist on PyPI ships it under vendor/RoutingKit,
# fetched with pip, its sha256 checked against the pinned one. Only the CCH's translation units, the
# headers they include and RoutingKit's LICENSE go to third_party/routingkit/, with README.md recording
# version, origin and every file's sha256. Re-run to check or refresh: ./scripts/vendor_routingkit.sh
set -euo pipefail
version="${1:-0.2.1}"
# sha256 of pyroutingkit-0.2.1.tar.gz on PyPI (pin another one with another version)
expected="${2:-144fa582c824ea94075abc1fce5d2b2cecadfd87d83cf1b39b3ad28138ef79e4}"
cd "$(dirname "$0")/.."
dest=third_party/routingkit
pip="${PIP:-.venv/bin/pip}"
command -v "$pip" >/dev/null || pip="python3 -m pip"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
$pip download --quiet --no-binary :all: --no-deps "pyroutingkit==${version}" -d "$work"
sdist="$work/pyroutingkit-${version}.tar.gz"
actual="$(sha256sum "$sdist" | cut -d' ' -f1)"
if [[ "$expected" != "$actual" ]]; then
    echo "vendor_routingkit: sha256 mismatch: pinned $expected, sdist $actual" >&2
    exit 1
fi
tar -xzf "$sdist" -C "$work"
src="$work/pyroutingkit-${version}/vendor/RoutingKit"
# the translation units of the CCH (nested dissection order, customisation, queries) and what they link
units=(bit_select bit_vector contraction_hierarchy customizable_contraction_hierarchy geo_position_to_node
       graph_util id_mapper nested_dissection strongly_connected_component timer)
headers=(bit_select.h emulate_gcc_builtin.h)
rm -rf "$dest"
mkdir -p "$dest/src" "$dest/include/routingkit"
for u in "${units[@]}"; do cp "$src/src/$u.cpp" "$dest/src/"; done
for h in "${headers[@]}"; do cp "$src/src/$h" "$dest/src/"; done
# every RoutingKit header those units include (directly or not)
(cd "$src" && for u in "${units[@]}"; do g++ -std=c++17 -MM -Iinclude "src/$u.cpp"; done) \
    | tr ' \\' '\n\n' | grep '^include/routingkit/.*\.h$' | sort -u \
    | while read -r h; do cp "$src/$h" "$dest/$h"; done
cp "$src/LICENSE" "$dest/LICENSE"
{
    echo "# RoutingKit (vendored)"
    echo
    echo "The C++ sources of RoutingKit's customizable contraction hierarchy that our binding"
    echo "\`hazmat.routing._cch\` (routing/cch/_cch.cpp) compiles, nothing else. BSD-2-Clause (LICENSE), by the"
    echo "RoutingKit contributors (KIT), https://github.com/RoutingKit/RoutingKit. Unmodified."
    echo
    echo "- origin: the sdist of pyroutingkit ${version} on PyPI (MIT), its folder vendor/RoutingKit"
    echo "- sdist: pyroutingkit-${version}.tar.gz, sha256 ${actual}"
    echo "- refresh or check: \`./scripts/vendor_routingkit.sh\` (fails on another sha256)"
    echo
    echo "Files (sha256):"
    echo
    echo '```'
    (cd "$dest" && find . -type f ! -name README.md | sort | xargs sha256sum)
    echo '```'
} > "$dest/README.md"
echo "vendor_routingkit: RoutingKit of pyroutingkit ${version} in ${dest} ($(find "$dest" -type f | wc -l) files)"
