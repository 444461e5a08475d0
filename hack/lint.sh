#!/usr/bin/env bash
# Static checks: cppcheck over all sources, and a grep for functions we never use
# (unbounded or non-reentrant string functions, atoi family without error reporting).
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=(api pkg plugins cmd)
srcs=$(find "${dirs[@]}" -name '*.c' 2>/dev/null)
rc=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strncat|strtok|gets|atoi|atol|atoll|atof)\s*\('
if grep -nEr --include='*.c' --include='*.h' "$banned" "${dirs[@]}" test 2>/dev/null; then
  echo "lint: banned function used (see above)"; rc=1
fi
if [ -n "$srcs" ]; then
  if ! cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
      --inline-suppr --suppress=missingIncludeSystem --include=hack/cppcheck-defs.h -I . $srcs; then
    echo "lint: cppcheck found problems"; rc=1
  fi
fi
[ "$rc" -eq 0 ] && echo "lint: clean"
exit "$rc"
