#!/bin/sh
# test-generators.sh — the generators are deterministic and genpflog's
# --summary agrees with an independent recount of its own log.
# usage: bench/test-generators.sh [BINDIR]   (default build/release/bench)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build/release/bench}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ex=examples
fail=0
ok() { printf 'ok   %s\n' "$*"; }
ko() { printf 'FAIL %s\n' "$*"; fail=1; }

for f in syslog rfc3339 journald docker; do
	$B/genpflog --messages 3000 --seed 7 --format $f --filter >"$T/a"
	$B/genpflog --messages 3000 --seed 7 --format $f --filter >"$T/b"
	if cmp -s "$T/a" "$T/b"; then ok "genpflog deterministic ($f)"; else ko "genpflog not deterministic ($f)"; fi
done
$B/genpflog --messages 3000 --seed 8 >"$T/c"
if cmp -s "$T/a" "$T/c"; then ko "genpflog ignores --seed"; else ok "genpflog --seed changes output"; fi

$B/genpflog --registry $ex/registry.json --tariff $ex/tariff.json \
	--from 2026-09-01 --to 2026-09-15 --format rfc3339 --filter \
	--summary "$T/s1.json" >"$T/r1.log" 2>/dev/null
if python3 bench/check-summary.py "$T/r1.log" "$T/s1.json" $ex/registry.json >"$T/out"; then
	ok "summary = recount (registry, filter): $(tail -1 "$T/out")"
else cat "$T/out"; ko "summary != recount (registry)"; fi

$B/genpflog --messages 20000 --long-queue-ids --format rfc3339 \
	--summary "$T/s2.json" >"$T/r2.log"
if python3 bench/check-summary.py "$T/r2.log" "$T/s2.json" >"$T/out"; then
	ok "summary = recount (synthetic, long ids): $(tail -1 "$T/out")"
else cat "$T/out"; ko "summary != recount (synthetic)"; fi

for f in tab json mailcow-json; do
	$B/gendoveadm --registry $ex/registry.json --tariff $ex/tariff.json \
		--at 2026-09-15 --format $f >"$T/d1"
	$B/gendoveadm --registry $ex/registry.json --tariff $ex/tariff.json \
		--at 2026-09-15 --format $f >"$T/d2"
	if cmp -s "$T/d1" "$T/d2"; then ok "gendoveadm deterministic ($f)"; else ko "gendoveadm not deterministic ($f)"; fi
done
$B/gendoveadm --registry $ex/registry.json --tariff $ex/tariff.json --at 2026-09-16 >"$T/d3"
$B/gendoveadm --registry $ex/registry.json --tariff $ex/tariff.json --at 2026-09-15 >"$T/d1"
if cmp -s "$T/d1" "$T/d3"; then ko "gendoveadm: storage does not change by day"; else ok "gendoveadm: storage changes by day"; fi
exit $fail
