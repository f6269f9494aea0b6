#!/bin/sh
# make spec: the draft as PDF in build/spec/ (installs Debian's LaTeX if missing),
# and the check that spec/patches/ (the series against virtio-spec master)
# carries the same text (spec/check-patches.py).
set -eu
cd "$(dirname "$0")/.."
pkgs="texlive-latex-base latexmk"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    [ "$(id -u)" = 0 ] || { echo "spec: need root to install:$missing" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi
mkdir -p build/spec
# Twice-run references and the TOC come from latexmk; warnings about undefined
# references fail the build.
TEXINPUTS=spec: latexmk -pdf -interaction=nonstopmode -halt-on-error -output-directory=build/spec \
    spec/grant-addressing.tex > build/spec/latexmk.log 2>&1 ||
    { tail -n 30 build/spec/latexmk.log >&2; exit 1; }
if grep -q "There were undefined references\|Reference .* undefined" build/spec/grant-addressing.log; then
    grep "undefined" build/spec/grant-addressing.log >&2
    exit 1
fi
echo "spec: build/spec/grant-addressing.pdf ($(wc -c < build/spec/grant-addressing.pdf) bytes)"
# The patch series against virtio-spec master carries the same text.
python3 spec/check-patches.py
