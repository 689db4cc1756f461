#!/usr/bin/env bash
# Checks the include direction of crew's folders: each may include its own folder and the layers
# below it, never one above it or a sibling of its own layer.
#
#   common < values < protocol < transport < {engine, controller, client} < cluster < cli < programs
#
# Public headers count in the layer of the library that implements them (the map below), and
# include/crew/ itself is checked the same way. Prints every offending file and include, and
# fails if there is one.
#
#   tests/layers/check_includes.sh [source dir]    (default: this script's repository)
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2

# Layer of a folder (src/<folder>, or tests/ for nothing: tests may include anything).
layer_of_folder() {
  case $1 in
    common) echo 0 ;;
    values) echo 1 ;;
    protocol) echo 2 ;;
    transport) echo 3 ;;
    engine | controller | client) echo 4 ;;
    cluster) echo 5 ;;
    cli) echo 6 ;;
    programs) echo 7 ;;
    *) echo "" ;;
  esac
}

# The folder whose layer a public header belongs to: the one that implements it.
folder_of_public_header() {
  case $1 in
    error.hpp | export.hpp | fwd.hpp | version.hpp) echo common ;;
    buffer.hpp | convert.hpp | json.hpp | reduce_op.hpp | value.hpp) echo values ;;
    async_map.hpp | async_result.hpp | client.hpp | crew.hpp | load_balanced_view.hpp | view.hpp) echo client ;;
    context.hpp | engine.hpp | function.hpp) echo engine ;;
    *) echo "" ;;
  esac
}

# The folder an include line names ("crew/x.hpp" or "<folder>/x.hpp"), or "" if not crew's.
folder_of_include() {
  local target=$1
  case $target in
    crew/*) folder_of_public_header "${target#crew/}" ;;
    */*) local f=${target%%/*}; [ -n "$(layer_of_folder "$f")" ] && echo "$f" ;;
  esac
}

failures=0
check_file() {  # file, its folder
  local file=$1 folder=$2 mine target to line
  mine=$(layer_of_folder "$folder")
  while IFS= read -r line; do
    target=$(sed -E 's/^[0-9]+:#include ["<]([^">]+)[">].*/\1/' <<<"$line")
    to=$(folder_of_include "$target")
    [ -z "$to" ] && continue
    [ "$to" = "$folder" ] && continue
    local theirs
    theirs=$(layer_of_folder "$to")
    if [ "$theirs" -ge "$mine" ]; then
      local why="above it"
      [ "$theirs" -eq "$mine" ] && why="a sibling layer"
      echo "$file:${line%%:*}: includes $target, from $to/ ($why: $folder/ may include only folders below it)"
      failures=$((failures + 1))
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$file" | sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*/\1:#include /')
}

checked=0
for dir in src/*/; do
  folder=$(basename "$dir")
  if [ -z "$(layer_of_folder "$folder")" ]; then
    echo "src/$folder/ has no layer: add it to tests/layers/check_includes.sh"
    failures=$((failures + 1))
    continue
  fi
  for file in "$dir"*.hpp "$dir"*.cpp; do
    [ -e "$file" ] || continue
    check_file "$file" "$folder"
    checked=$((checked + 1))
  done
done
for file in include/crew/*.hpp; do
  folder=$(folder_of_public_header "$(basename "$file")")
  if [ -z "$folder" ]; then
    echo "$file has no layer: add it to folder_of_public_header in tests/layers/check_includes.sh"
    failures=$((failures + 1))
    continue
  fi
  check_file "$file" "$folder"
  checked=$((checked + 1))
done

if [ "$failures" -gt 0 ]; then
  echo "$failures include(s) against the layering (common < values < protocol < transport <" \
    "{engine, controller, client} < cluster < cli < programs) in $checked files"
  exit 1
fi
echo "$checked files include only their own folder and the layers below it"
