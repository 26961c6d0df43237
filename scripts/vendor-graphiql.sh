#!/usr/bin/env bash
# Re-vendors GraphiQL (and the React it runs on) into api/static/vendor/graphiql/ from the
# npm registry, at the versions pinned in api/static/vendor/graphiql/versions.json; npm pack
# checks each tarball against the registry's integrity, printed here to compare with the file.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=api/static/vendor/graphiql
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$dest/versions.json" > "$work/plan" <<'PY'
import json, sys
for name, pkg in json.load(open(sys.argv[1]))["packages"].items():
    for src, dst in pkg["files"].items():
        print(name, pkg["version"], src, dst)
PY
while read -r name version src dst; do
  if [ ! -d "$work/$name" ]; then
    (cd "$work" && npm pack --silent "$name@$version" >/dev/null && mkdir "$name" && tar xzf "$name-$version.tgz" -C "$name")
    echo "$name@$version: $(cd "$work" && npm view "$name@$version" dist.integrity)"
  fi
  cp "$work/$name/package/$src" "$dest/$dst"
done < "$work/plan"
echo "vendored into $dest"
