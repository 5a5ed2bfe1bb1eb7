#!/usr/bin/env bash
# deb.sh CPACK BUILD_DIR SOURCE_DIR: makes the Debian package (`cpack -G DEB`) and checks it: the
# files land in /usr as installed (bin, presets, runtime library and headers, docs), Depends names
# the package of every shared library the packaged smelt needs (readelf NEEDED -> ldconfig ->
# dpkg -S), and the unpacked smelt, run from another folder, finds its packaged presets.
set -euo pipefail
cpack=$1 build=$(cd "$2" && pwd -P) src=$(cd "$3" && pwd -P)
unset SMELT_PRESETS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tmp=$(cd "$tmp" && pwd -P)
fail() { printf 'deb.sh: %s\n' "$*" >&2; exit 1; }

(cd "$build" && "$cpack" -G DEB -B "$tmp/out" >/dev/null) || fail "cpack -G DEB failed"
debs=("$tmp"/out/smelt_*.deb)
[[ -f ${debs[0]} ]] || fail "cpack made no smelt_*.deb"
deb=${debs[0]}

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in usr/bin/smelt usr/share/smelt/presets/small.yaml usr/lib/smelt/libsmelt_runtime.a usr/lib/smelt/libsmelt_support.a \
         usr/include/smelt/runtime/rt_trainer_main.h usr/include/smelt/support/rt_assert.h usr/share/doc/smelt/README.md; do
  grep -qxF "./$f" <<<"$files" || fail "the package has no /$f"
done

# Every package named in Depends, alternatives included, without version constraints.
depends=$(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' | sed 's/(.*)//; s/^ *//; s/ *$//')
dpkg-deb -x "$deb" "$tmp/root"
smelt=$tmp/root/usr/bin/smelt
ldconfig -p >"$tmp/ldconfig"
shopt -s extglob
for soname in $(readelf -d "$smelt" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  path=$(awk -v s="$soname" '$1 == s && /x86-64/ {print $NF}' "$tmp/ldconfig" | head -n1)
  [[ -n $path ]] || fail "no $soname on this system (ldconfig -p)"
  # The path as ldconfig names it, else with links resolved (OpenBLAS goes through alternatives).
  owners=$( (dpkg -S "$path" || dpkg -S "$(readlink -f "$path")") 2>/dev/null | cut -d: -f1 | tr ',' '\n' | sed 's/^ *//') ||
    fail "no package owns $path ($soname)"
  found=0
  for owner in $owners; do
    # OpenBLAS ships libopenblas.so.0 in flavour packages (-pthread, -openmp, -serial) that
    # Debian's libopenblas0 chooses between: depending on libopenblas0 is the rule.
    grep -qxF -e "$owner" -e "${owner%-@(pthread|openmp|serial)}" <<<"$depends" && found=1
  done
  ((found)) || fail "Depends names no package of $soname (owned by: $owners): $(tr "\n" " " <<<"$depends")"
done

mkdir "$tmp/work"
cp "$src/examples/quickstart.yaml" "$tmp/work"
out=$(cd "$tmp/work" && "$smelt" check quickstart.yaml 2>&1) || fail "the packaged smelt's check failed: $out"
grep -qF "presets from $tmp/root/usr/share/smelt/presets" <<<"$out" || fail "the packaged smelt did not use its presets: $out"
echo "$(basename "$deb"): files, Depends and presets ok"
