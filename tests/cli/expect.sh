#!/usr/bin/env bash
# Runs a command and checks its exit code and that its output (stdout + stderr) matches a
# regular expression (matched against the whole output, so it may span lines):
# expect.sh CODE REGEX COMMAND [ARGS...]. Used by tests/cli.cmake.
set -u
want_code=$1 pattern=$2
shift 2
out=$("$@" 2>&1)
code=$?
if [[ $code -ne $want_code ]]; then
  printf 'expected exit code %s, got %s from: %s\n--- output ---\n%s\n' "$want_code" "$code" "$*" "$out"
  exit 1
fi
if ! grep -Ezq -- "$pattern" <<<"$out"; then
  printf 'output of %s does not match /%s/\n--- output ---\n%s\n' "$*" "$pattern" "$out"
  exit 1
fi
exit 0
