#!/usr/bin/env bash
# installed.sh CMAKE BUILD_DIR SOURCE_DIR: installs the build into a temporary prefix and uses that
# smelt as a user would, from a folder outside both trees with SMELT_PRESETS unset: `smelt check`
# must find the installed presets, `smelt train` one tiny epoch, and `smelt build` must compile
# and link against the installed runtime headers and library (a compiler wrapper records the
# arguments; no path of the source or build tree may appear), then the built trainer runs.
# Nothing of the source tree is moved or hidden: the test fails when smelt reaches into it.
set -euo pipefail
cmake=$1 build=$(cd "$2" && pwd -P) src=$(cd "$3" && pwd -P)
unset SMELT_PRESETS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tmp=$(cd "$tmp" && pwd -P)
prefix=$tmp/prefix work=$tmp/work
fail() { printf 'installed.sh: %s\n' "$*" >&2; exit 1; }

"$cmake" --install "$build" --prefix "$prefix" >/dev/null
for f in bin/smelt share/smelt/presets/small.yaml share/smelt/presets/ctc_small.yaml \
         lib/smelt/libsmelt_runtime.a lib/smelt/libsmelt_support.a include/smelt/runtime/rt_trainer_main.h \
         include/smelt/runtime/rt_settings.def include/smelt/support/rt_assert.h \
         share/doc/smelt/README.md share/doc/smelt/deploy.md; do
  [[ -e $prefix/$f ]] || fail "the install has no $f"
done

mkdir "$work"
cp "$src/examples/quickstart.yaml" "$src/tests/train/mini.yaml" "$src/tests/train/mini_ctc.yaml" "$work"
cd "$work"
smelt=$prefix/bin/smelt

out=$("$smelt" check quickstart.yaml 2>&1) || fail "smelt check failed: $out"
grep -qF "presets from $prefix/share/smelt/presets" <<<"$out" || fail "smelt check did not use the installed presets: $out"

out=$("$smelt" train mini.yaml --epochs 1 --out runs --quiet 2>&1) || fail "smelt train failed: $out"
grep -q "mini: ok after 1 epochs" <<<"$out" || fail "smelt train: $out"

cat >cc-wrapper <<WRAP
#!/bin/sh
printf '%s\n' "\$@" >"$work/cc-args"
exec cc "\$@"
WRAP
chmod +x cc-wrapper
out=$(CC=$work/cc-wrapper "$smelt" build mini.yaml -o trainer 2>&1) || fail "smelt build failed: $out"
grep -qxF "$prefix/include/smelt" cc-args || fail "smelt build did not compile against $prefix/include/smelt: $(cat cc-args)"
for lib in libsmelt_runtime.a libsmelt_support.a; do
  grep -qxF "$prefix/lib/smelt/$lib" cc-args || fail "smelt build did not link $prefix/lib/smelt/$lib: $(cat cc-args)"
done
if grep -qF -e "$src" -e "$build" cc-args; then fail "smelt build used the source or build tree: $(cat cc-args)"; fi

out=$(./trainer --epochs 1 --out trainer-runs --quiet 2>&1) || fail "the built trainer failed: $out"
grep -q "mini: ok after 1 epochs" <<<"$out" || fail "the built trainer: $out"
echo "installed smelt: check, train, build and the built trainer ran from $prefix"
