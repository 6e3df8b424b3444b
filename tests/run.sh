#!/bin/sh
# run.sh BUILD_DIR... — run every test binary of each build folder against
# one throwaway PostgreSQL cluster started for this run (and destroyed at
# the end).  Each DB test file makes its own database from a migrated
# template (tests/testdb.c).  Exit status 1 when any test failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# A cluster of its own for each run (the folder names it), so that two runs
# at once never share or stop each other's server.
mkdir -p "$top/build"
pgdir=$(mktemp -d "$top/build/testpg.XXXXXX")
boot=$top/releve
[ -x "$boot" ] || { echo "run.sh: build ./releve first" >&2; exit 2; }

cleanup() {
	"$boot" local destroy --dir "$pgdir" >/dev/null 2>&1
	rm -rf "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$boot" local start --dir "$pgdir" || exit 1
eval "$("$boot" local env --dir "$pgdir")"

export PGOPTIONS='-c client_min_messages=warning'
psql -X -q -v ON_ERROR_STOP=1 -d postgres \
	-c 'DROP DATABASE IF EXISTS releve_tmpl' \
	-c 'CREATE DATABASE releve_tmpl' >/dev/null || exit 1
"$boot" db migrate --db "dbname=releve_tmpl" >/dev/null || exit 1
export RELEVE_TEST_TEMPLATE=releve_tmpl RELEVE_TOP="$top"
# Sanitizer settings: stop at the first report, with a stack.
export ASAN_OPTIONS=abort_on_error=0:halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=0 total=0
for b in "$@"; do
	name=$(basename "$b")
	bin=$top/$b/releve
	[ -x "$bin" ] || bin=$top/releve
	export RELEVE_BIN="$bin" RELEVE_TEST_SUFFIX="$name"
	export RELEVE_BENCH="$top/$b/bench"   # the data generators
	for t in "$top/$b"/tests/test_*; do
		[ -x "$t" ] || continue
		tn=${t##*/}
		# ONLY=name,name runs only those test programs.
		case ",${ONLY:-$tn}," in
		*",$tn,"*) ;;
		*) continue ;;
		esac
		total=$((total + 1))
		echo "== $name/$(basename "$t")"
		if ! (cd "$top" && "$t"); then
			failed=$((failed + 1))
			echo "!! FAILED: $name/$(basename "$t")"
		fi
	done
done
echo "== $((total - failed)) of $total test programs passed"
[ "$failed" -eq 0 ]
