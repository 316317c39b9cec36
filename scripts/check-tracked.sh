#!/usr/bin/env bash
# Fails when git tracks a build output: a compiled executable or object
# (ELF, Mach-O or PE, whatever its name or mode) anywhere, or any file larger
# than 2 MB outside a testdata/ directory. Scripts are text and pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  size=$(stat -c %s "$f")
  case "/$f" in
    */testdata/*) ;;
    *) if [ "$size" -gt $((2 * 1024 * 1024)) ]; then echo "tracked file larger than 2 MB outside testdata/: $f ($size bytes)"; bad=1; fi ;;
  esac
  magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
  case "$magic" in
    7f454c46|cffaedfe|cefaedfe|feedface|feedfacf|cafebabe|4d5a*)
      echo "tracked file is a compiled binary: $f"; bad=1 ;;
  esac
done < <(git ls-files -z)
[ "$bad" = 0 ] && echo "no build outputs tracked"
exit "$bad"
