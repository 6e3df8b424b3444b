#!/bin/sh
# run.sh SECONDS TARGET... — run each libFuzzer target for SECONDS on its
# seed corpus (tests/fuzz/corpus/<name>/, copied so the committed corpus
# stays as it is).  A crash fails the run and leaves the input in
# build/fuzz/crashes/.
set -u
secs=$1
shift
top=$(cd "$(dirname "$0")/../.." && pwd)
failed=0
mkdir -p "$top/build/fuzz/crashes"
for t in "$@"; do
	name=$(basename "$t" | sed 's/^fuzz_//')
	work=$top/build/fuzz/corpus-$name
	mkdir -p "$work"
	[ -d "$top/tests/fuzz/corpus/$name" ] &&
		cp -r "$top/tests/fuzz/corpus/$name/." "$work/"
	echo "== fuzz $name for ${secs}s"
	if ! "$t" -max_total_time="$secs" -max_len=65536 -timeout=10 \
		-artifact_prefix="$top/build/fuzz/crashes/$name-" \
		-print_final_stats=0 "$work" >"$top/build/fuzz/$name.log" 2>&1; then
		failed=1
		echo "!! fuzz target $name failed:"
		tail -40 "$top/build/fuzz/$name.log"
	else
		grep -E '^Done|#[0-9]+.*DONE' "$top/build/fuzz/$name.log" | tail -1
	fi
done
exit $failed
