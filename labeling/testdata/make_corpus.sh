#!/usr/bin/env bash
# Builds corpus.ndjson.gz: paragraphs of manual pages installed on a Debian
# machine, one JSON document per line {"source": PAGE, "text": PARAGRAPH}.
# The page a paragraph comes from is its ground-truth cluster. Regenerate
# with: bash make_corpus.sh (needs man and python3).
set -euo pipefail
cd "$(dirname "$0")"
pages="tar ssh curl find grep git psql wget systemctl apt-get gzip sqlite3"
for p in $pages; do
  MANWIDTH=2000 man -P cat "$p" 2>/dev/null | col -b | python3 -c '
import json, re, sys
page = sys.argv[1]
paras = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", sys.stdin.read())]
paras = [p for p in paras if len(p) >= 60][:120]
for p in paras:
    print(json.dumps({"source": page, "text": p}))
' "$p"
done | gzip -9n > corpus.ndjson.gz
zcat corpus.ndjson.gz | wc -l
