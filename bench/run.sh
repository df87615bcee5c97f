#!/usr/bin/env bash
# Reproduces every figure in bench/README.md, from a fresh clone:
#
#   bash bench/run.sh
#
# COUNT (default 8: a multiple of 4, so BenchmarkHappyPath rotates its four
# peers through every place) is -count for the micro-benchmarks, CCOUNT (default 3)
# for the contention benchmark (one whole 32 × 50 run per iteration).
# SOAK=full also runs the full-size soak test under -race (several minutes).
# Raw outputs are kept in $OUT (default: a new temporary directory).
set -euo pipefail
cd "$(dirname "$0")"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

COUNT="${COUNT:-8}"
CCOUNT="${CCOUNT:-3}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

step() { printf '\n=== %s\n' "$*"; }

step "machine"
go version
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo || true
echo "raw outputs: $OUT"

step "micro-benchmarks (-benchmem -count=$COUNT)"
go test -run '^$' -bench '^(BenchmarkHappyPath|BenchmarkClientOverhead|BenchmarkMerge|BenchmarkClassify)$' \
	-benchmem -count="$COUNT" -timeout 60m . | tee "$OUT/micro.txt"

step "benchstat"
go run "$BENCHSTAT" "$OUT/micro.txt"

step "ratios (medians of $COUNT runs; time, its difference, and allocs per op)"
# median time and allocs of each benchmark, then the ratios of the peers.
awk '
/^Benchmark/ && / ns\/op/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
	for (i = 3; i < NF; i++) {
		if ($(i+1) == "ns/op") ns[name] = ns[name] " " $i
		if ($(i+1) == "allocs/op") al[name] = al[name] " " $i
	}
}
function median(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	if (n == 0) return 0
	return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function ratio(a, b, label,   ta, tb, aa, ab) {
	if (!(a in ns) || !(b in ns)) return
	ta = median(ns[a]); tb = median(ns[b]); aa = median(al[a]); ab = median(al[b])
	printf "%-62s %6.2fx time %+7.0f ns %+6d allocs  (%.0f vs %.0f ns/op, %d vs %d allocs/op)\n", label, ta / tb, ta - tb, aa - ab, ta, tb, aa, ab
}
END {
	split("GET PUT", m, " ")
	for (k = 1; k <= 2; k++) {
		o = m[k]
		ratio("HappyPath/" o "/conflict", "HappyPath/" o "/net/http", o " conflict / net/http (target <= 1.05x, <= +2 allocs)")
		ratio("HappyPath/" o "/conflict", "HappyPath/" o "/retryablehttp", o " conflict / retryablehttp (target <= 1.00x)")
		ratio("HappyPath/" o "/retryablehttp", "HappyPath/" o "/net/http", o " retryablehttp / net/http")
		ratio("HappyPath/" o "/conflict+rule", "HappyPath/" o "/net/http", o " conflict+rule / net/http")
	}
	print "in-memory transport (client work only):"
	for (k = 1; k <= 2; k++) {
		o = m[k]
		ratio("ClientOverhead/" o "/conflict", "ClientOverhead/" o "/net/http", "  " o " conflict / net/http")
		ratio("ClientOverhead/" o "/conflict", "ClientOverhead/" o "/retryablehttp", "  " o " conflict / retryablehttp")
		ratio("ClientOverhead/" o "/retryablehttp", "ClientOverhead/" o "/net/http", "  " o " retryablehttp / net/http")
		ratio("ClientOverhead/" o "/conflict+rule", "ClientOverhead/" o "/net/http", "  " o " conflict+rule / net/http")
	}
	ratio("Merge/conflict.MergeJSON", "Merge/apimachinery", "MergeJSON / apimachinery 3-way patch (target <= 0.50x)")
	if (("Merge/apimachinery" in ns) && ("Merge/conflict.MergeJSON" in ns))
		printf "%-62s %6.1fx\n", "  => MergeJSON speed-up over apimachinery", median(ns["Merge/apimachinery"]) / median(ns["Merge/conflict.MergeJSON"])
	ratio("Classify/conflict.Classify", "Classify/json.Unmarshal/map", "Classify / json.Unmarshal into a map")
	ratio("Classify/conflict.Classify", "Classify/json.Unmarshal/struct", "Classify / json.Unmarshal into a struct")
}' "$OUT/micro.txt" | tee "$OUT/ratios.txt"

step "contention: 32 writers x 50 field-disjoint updates of one document (-benchtime=1x -count=$CCOUNT)"
go test -run '^$' -bench '^BenchmarkContention$' -benchtime=1x -count="$CCOUNT" -timeout 60m . | tee "$OUT/contention.txt"
go run "$BENCHSTAT" "$OUT/contention.txt"

step "exact counts: round trips, contention (small), exactly-once creates, merge semantics"
go test -run '^(TestRoundTripsPerRecoveredConflict|TestContention|TestExactlyOnceCreates|TestApimachineryRevertsConcurrentChange|TestMergeFixture)$' \
	-v -count=1 . | tee "$OUT/counts.txt"

if [ "${SOAK:-}" = full ]; then
	step "soak, full size, under -race"
	go test -race -run '^TestSoak$' -soak.full -v -count=1 -timeout 60m . | tee "$OUT/soak.txt"
fi

step "done; raw outputs in $OUT"
