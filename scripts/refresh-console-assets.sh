#!/usr/bin/env bash
# Refreshes the console's and GraphiQL's browser files (api/console/static/vendor/) from the npm
# registry at the pinned versions below: `npm pack` each package into a temporary folder, copy
# the browser-ready files it ships (ES modules, UMD bundles, CSS) and its licence. Nothing is
# built; the app serves these files as they are. To upgrade, change a version, run this script,
# and run the browser tests (tests/console).
set -euo pipefail
cd "$(dirname "$0")/.."

HTM=3.1.1        # htm's preact/standalone: Preact 10 + hooks + htm in one ES module
ECHARTS=6.1.0    # charts and the tile-less map (canvas renderer)
GRAPHQL_WS=6.4.2 # graphql-transport-ws client (UMD: the ESM build imports Node's `ws`)
GRAPHIQL=3.9.0   # the last GraphiQL with a UMD bundle that runs on React 18 from <script>
REACT=18.3.1     # React 19 ships no UMD bundles
EXPLORER=1.0.2   # the query builder beside GraphiQL's editor, as Strawberry's page has it

VENDOR=api/console/static/vendor
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

unpack() {  # unpack NAME VERSION: the package's files in $TMP/NAME/package
  mkdir -p "$TMP/$1"
  (cd "$TMP/$1" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz)
}

take() {  # take NAME VERSION FILE...: copy FILEs (relative to the package) and the licence
  local name=$1 version=$2
  shift 2
  local dest="$VENDOR/$name@$version"
  mkdir -p "$dest"
  for file in "$@"; do  # FILE, or FILE:NAME to store it under another name
    local src=${file%%:*} as=${file#*:}
    cp "$TMP/$name/package/$src" "$dest/$(basename "$as")"
  done
  # The licence file, or (a package that ships none) its package.json, which names the licence.
  cp "$TMP/$name/package/"LICEN[CS]E* "$dest/" 2>/dev/null || cp "$TMP/$name/package/package.json" "$dest/"
  if [ -f "$TMP/$name/package/NOTICE" ]; then cp "$TMP/$name/package/NOTICE" "$dest/"; fi
}

rm -rf "$VENDOR"
mkdir -p "$VENDOR"
unpack htm "$HTM" && take htm "$HTM" preact/standalone.module.js
unpack echarts "$ECHARTS" && take echarts "$ECHARTS" dist/echarts.esm.min.mjs:echarts.esm.min.js  # .js: served as JavaScript everywhere
unpack graphql-ws "$GRAPHQL_WS" && take graphql-ws "$GRAPHQL_WS" umd/graphql-ws.min.js
unpack graphiql "$GRAPHIQL" && take graphiql "$GRAPHIQL" graphiql.min.js graphiql.min.css
unpack react "$REACT" && take react "$REACT" umd/react.production.min.js
unpack react-dom "$REACT" && take react-dom "$REACT" umd/react-dom.production.min.js
unpack @graphiql/plugin-explorer "$EXPLORER" &&
  take @graphiql/plugin-explorer "$EXPLORER" dist/index.umd.js dist/style.css
# The pinned versions, for the app (api/console/assets.py) and the README.
cat >"$VENDOR/versions.json" <<JSON
{
  "htm": "$HTM",
  "echarts": "$ECHARTS",
  "graphql-ws": "$GRAPHQL_WS",
  "graphiql": "$GRAPHIQL",
  "react": "$REACT",
  "react-dom": "$REACT",
  "@graphiql/plugin-explorer": "$EXPLORER"
}
JSON
du -sh "$VENDOR"/*
