#!/usr/bin/env bash
# upward.sh SOURCE_DIR: scripts/check_layers.sh must catch what it exists for. On a copy of the
# layered folders and the docs: the copy as it is passes; an upward include added to ir/ir.h
# (ir -> codegen) and a sideways one in the frontend (frontend -> passes) fail, each named at
# file:line; a new folder of C files with no row in the table fails.
set -euo pipefail
src=$(cd "$1" && pwd -P)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { printf 'upward.sh: %s\n' "$*" >&2; exit 1; }
for d in docs scripts runtime ir passes codegen frontend driver tools; do
  [[ -d $src/$d ]] && cp -r "$src/$d" "$tmp/"
done
check() { "$tmp/scripts/check_layers.sh" "$tmp" 2>&1; }

out=$(check) || fail "the unchanged copy fails: $out"

cp "$tmp/ir/ir.h" "$tmp/ir.h.orig"
printf '  #  include "codegen/cg_program.h"\n' >>"$tmp/ir/ir.h"
line=$(wc -l <"$tmp/ir/ir.h")
if out=$(check); then fail "an include of codegen/ in ir/ir.h passed: $out"; fi
grep -qF "ir/ir.h:$line: error: ir/ may not include codegen/" <<<"$out" || fail "ir -> codegen not reported at ir/ir.h:$line: $out"
mv "$tmp/ir.h.orig" "$tmp/ir/ir.h"

file=$(ls "$tmp"/frontend/*.c | head -n1)
printf '#include "passes/pass.h"\n' >>"$file"
line=$(wc -l <"$file")
if out=$(check); then fail "an include of passes/ in the frontend passed: $out"; fi
grep -qF "frontend/$(basename "$file"):$line: error: frontend/ may not include passes/" <<<"$out" ||
  fail "frontend -> passes not reported at frontend/$(basename "$file"):$line: $out"
sed -i '$d' "$file"

mkdir "$tmp/sweep" && printf '#include "tools/cli.h"\n' >"$tmp/sweep/sweep.c"
if out=$(check); then fail "a folder with no row in the table passed: $out"; fi
grep -qF "sweep/: error: folder has C files but no row in the layer table" <<<"$out" || fail "the new folder not reported: $out"
rm -r "$tmp/sweep"

out=$(check) || fail "the restored copy fails: $out"
echo "check_layers catches upward and sideways includes and folders without a row"
