#!/bin/sh
# Fails when two of the project's static libraries define the same global symbol: the
# linker then quietly takes the first and the other library's calls land in a function
# with another signature (the runtime's and the language's error helpers once did).
#   tests/check_symbols.sh LIB.a...
set -u
dups=$(for lib in "$@"; do nm -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBR]$/ { print $3 }' | sort -u; done | sort | uniq -d)
if [ -n "$dups" ]; then
    echo "defined in more than one library:"
    echo "$dups"
    exit 1
fi
echo "ok - no global symbol is defined twice in: $*"
