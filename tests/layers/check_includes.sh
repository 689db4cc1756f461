#!/usr/bin/env bash
# Checks the include direction of crew's folders: each may include its own folder and the layers
# below it, never one above it or a sibling of its own layer.
#
#   common < values < protocol < transport < {engine, controller, client} < cluster < cli < programs
#
# Public headers count in the layer of the folder that implements them (the map below), and
# include/crew/ itself is checked the same way. Prints every offending file and include, and
# fails if there is one.
#
#   tests/layers/check_includes.sh [source dir]    (default: this script's repository)
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2

unknown=0
for dir in src/*/; do
  case $(basename "$dir") in
    common | values | protocol | transport | engine | controller | client | cluster | cli | programs) ;;
    *) echo "$dir has no layer: add it to tests/layers/check_includes.sh"; unknown=1 ;;
  esac
done

awk '
BEGIN {
  split("common values protocol transport engine controller client cluster cli programs", names, " ")
  split("0 1 2 3 4 4 4 5 6 7", ranks, " ")
  for (i in names) layer[names[i]] = ranks[i]
  # The folder whose layer a public header belongs to: the one that implements it.
  public_folder["error.hpp"] = public_folder["errc.hpp"] = public_folder["export.hpp"] = public_folder["fwd.hpp"] = "common"
  public_folder["version.hpp"] = "common"
  public_folder["buffer.hpp"] = public_folder["convert.hpp"] = public_folder["json.hpp"] = "values"
  public_folder["reduce_op.hpp"] = public_folder["value.hpp"] = "values"
  public_folder["async_map.hpp"] = public_folder["async_result.hpp"] = public_folder["client.hpp"] = public_folder["output.hpp"] = "client"
  public_folder["crew.hpp"] = public_folder["load_balanced_view.hpp"] = public_folder["view.hpp"] = "client"
  public_folder["context.hpp"] = public_folder["engine.hpp"] = public_folder["function.hpp"] = "engine"
  failures = 0
  files = 0
}
FNR == 1 {
  files++
  n = split(FILENAME, parts, "/")
  if (parts[1] == "include") {
    folder = public_folder[parts[n]]
    if (folder == "") { print FILENAME ": has no layer: add it to public_folder in " script; failures++ }
  } else {
    folder = parts[2]
    if (!(folder in layer)) { print FILENAME ": src/" folder "/ has no layer: add it to " script; failures++; folder = "" }
  }
}
folder != "" && /^[ \t]*#[ \t]*include[ \t]*["<]/ {
  target = $0
  sub(/^[ \t]*#[ \t]*include[ \t]*["<]/, "", target)
  sub(/[">].*$/, "", target)
  if (target ~ /^crew\//) {
    to = public_folder[substr(target, 6)]
  } else {
    to = target
    if (!sub(/\/.*$/, "", to) || !(to in layer)) to = ""
  }
  if (to == "" || to == folder) next
  if (layer[to] >= layer[folder]) {
    why = layer[to] == layer[folder] ? "a sibling layer" : "above it"
    print FILENAME ":" FNR ": includes " target ", from " to "/ (" why ": " folder "/ may include only folders below it)"
    failures++
  }
}
END {
  if (failures > 0) {
    print failures " include(s) against the layering (common < values < protocol < transport <" \
      " {engine, controller, client} < cluster < cli < programs) in " files " files"
    exit 1
  }
  print files " files include only their own folder and the layers below it"
}' script="tests/layers/check_includes.sh" src/*/*.hpp src/*/*.cpp include/crew/*.hpp || exit 1
exit $unknown
