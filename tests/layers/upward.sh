#!/usr/bin/env bash
# upward.sh SOURCE_DIR: scripts/check_layers.sh must catch what it exists for. On a copy of the
# layered folders and the docs: the copy as it is passes; an upward include added to ir/ir.h
# (ir -> codegen), one from the support code to the training runtime (support -> runtime) and a
# sideways one in the frontend (frontend -> passes) fail, each named at file:line; a new folder of
# C files with no row in the table fails.
set -euo pipefail
src=$(cd "$1" && pwd -P)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { printf 'upward.sh: %s\n' "$*" >&2; exit 1; }
for d in docs scripts support runtime ir passes codegen frontend driver sweep tools; do
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

cp "$tmp/support/rt_arena.c" "$tmp/rt_arena.c.orig"
printf '#include "runtime/rt_train.h"\n' >>"$tmp/support/rt_arena.c"
line=$(wc -l <"$tmp/support/rt_arena.c")
if out=$(check); then fail "an include of runtime/ in support/rt_arena.c passed: $out"; fi
grep -qF "support/rt_arena.c:$line: error: support/ may not include runtime/ (it may include nothing of ours" <<<"$out" ||
  fail "support -> runtime not reported at support/rt_arena.c:$line: $out"
mv "$tmp/rt_arena.c.orig" "$tmp/support/rt_arena.c"

file=$(ls "$tmp"/frontend/*.c | head -n1)
printf '#include "passes/pass.h"\n' >>"$file"
line=$(wc -l <"$file")
if out=$(check); then fail "an include of passes/ in the frontend passed: $out"; fi
grep -qF "frontend/$(basename "$file"):$line: error: frontend/ may not include passes/" <<<"$out" ||
  fail "frontend -> passes not reported at frontend/$(basename "$file"):$line: $out"
sed -i '$d' "$file"

mkdir "$tmp/kernels" && printf '#include "tools/cli.h"\n' >"$tmp/kernels/kernels.c"
if out=$(check); then fail "a folder with no row in the table passed: $out"; fi
grep -qF "kernels/: error: folder has C files but no row in the layer table" <<<"$out" || fail "the new folder not reported: $out"
rm -r "$tmp/kernels"

out=$(check) || fail "the restored copy fails: $out"
echo "check_layers catches upward and sideways includes and folders without a row"
