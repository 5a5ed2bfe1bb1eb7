#!/usr/bin/env bash
# Checks that no #include runs upward: every `#include "folder/file.h"` in every .c/.h of a source
# folder must name its own folder or one the layer table allows. The table is the one in
# docs/architecture.md ("Layers and includes"), read from between its marker comments, so the
# documentation and the check cannot disagree. A folder with C files and no row is an error too:
# a new folder must take its place in the order. Run by ctest (tests/layers.cmake).
# usage: scripts/check_layers.sh [SOURCE_DIR]   (default: the folder above this script)
set -euo pipefail
root=${1:-$(dirname "$0")/..}
doc=$root/docs/architecture.md
[[ -f $doc ]] || { echo "check_layers: $doc not found" >&2; exit 2; }

# The table rows: "| `a`, `b` | `x`, `y` |" -> "a b<TAB>x y"; "anything" in the second cell is "*".
table=$(awk '/<!-- layers: begin/ {on = 1; next} /<!-- layers: end/ {on = 0} on && /^\|/' "$doc" |
  awk -F'|' 'NR > 2 {
      n = split($2, f, "`"); folders = ""; for (i = 2; i <= n; i += 2) folders = folders " " f[i]
      if ($3 ~ /anything/) allowed = "*"
      else { n = split($3, a, "`"); allowed = ""; for (i = 2; i <= n; i += 2) allowed = allowed " " a[i] }
      print folders "\t" allowed }')
[[ -n $table ]] || { echo "check_layers: no layer table between <!-- layers: begin --> and <!-- layers: end --> in $doc" >&2; exit 2; }
declare -A allowed
while IFS=$'\t' read -r folders may; do
  for f in $folders; do allowed[$f]=" $may "; done
done <<<"$table"

status=0
# Top-level folders holding C files, leaving out hidden ones and build trees.
for dir in "$root"/*/; do
  name=$(basename "$dir")
  [[ -f $dir/CMakeCache.txt ]] && continue
  [[ -n $(find "$dir" -name '*.[ch]' -print -quit) ]] || continue
  if [[ -z ${allowed[$name]+x} ]]; then
    echo "$name/: error: folder has C files but no row in the layer table of docs/architecture.md"
    status=1
    continue
  fi
  [[ ${allowed[$name]} == " * " ]] && continue
  # file:line:folder of every quoted include naming a folder
  while IFS=: read -r file line target; do
    [[ $target == "$name" || -z ${allowed[$target]+x} ]] && continue # own folder, or not ours
    if [[ ${allowed[$name]} != *" $target "* ]]; then
      may=
      for m in ${allowed[$name]}; do may+="${may:+, }$m/"; done
      echo "${file#"$root"/}:$line: error: $name/ may not include $target/ (it may include ${may:-nothing of ours}; see docs/architecture.md, \"Layers and includes\")"
      status=1
    fi
  done < <(find "$dir" -name '*.[ch]' -print0 | xargs -0 -r grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"/]+/' |
           sed -E 's/^([^:]+):([0-9]+):[^"]*"([^"/]+)\/.*/\1:\2:\3/')
done
[[ $status == 0 ]] && echo "check_layers: every include follows the layer order"
exit $status
