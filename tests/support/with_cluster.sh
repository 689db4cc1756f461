#!/usr/bin/env bash
# with_cluster.sh CREW N [--plugin P ...] -- COMMAND...: starts a cluster of N engines with the
# crew program CREW, runs COMMAND, stops the cluster whatever happened, and exits with COMMAND's
# status (or 1 if the stop failed). For examples and the installed-package test.
set -u
crew=$1; n=$2; shift 2
start_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do start_args+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
"$crew" cluster start -n "$n" "${start_args[@]}" || exit 1
"$@"; status=$?
"$crew" cluster stop || status=1
exit $status
