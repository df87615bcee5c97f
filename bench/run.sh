#!/usr/bin/env bash
# Reproduces every table in bench/README.md, from a fresh clone:
#
#   bash bench/run.sh
#
# The measures run in interleaved rounds: one round is one process (the
# test binary, built once, run with -round.kind) in which every peer of the
# measure runs once, in an order rotated by the round's number; the
# conflicttest server runs in a child process, so the CPU time counted is
# the clients'. cmd/benchtables prints the median (min–max) over the rounds
# of every figure, and of every ratio computed within a round.
#
# Knobs (environment):
#   ROUNDS   rounds of the micro measures: happy path, merge (default 11)
#   CROUNDS  rounds of contention, and of conflict.Update (default 7)
#   SCALE    multiplies the operations and updates of every round (default 1)
#   ONLY     a subset: any of "micro contention update counts", space separated
#   SOAK=full  also runs the full-size soak test under -race (several minutes)
#   OUT      where the raw outputs go (default: a new temporary directory)
# Full size (the defaults) takes 6-10 minutes on a loaded 2-core machine.
set -euo pipefail
cd "$(dirname "$0")"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

ROUNDS="${ROUNDS:-11}"
CROUNDS="${CROUNDS:-7}"
SCALE="${SCALE:-1}"
ONLY="${ONLY:-micro contention update counts}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

step "machine"
{
	go version
	echo "nproc: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo || true
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$OUT/machine.txt"
echo "raw outputs: $OUT"

step "build the test binary"
go test -c -o "$OUT/bench.test" .

# rounds KIND N: N rounds of KIND, each its own process, appended to
# $OUT/KIND.jsonl.
rounds() {
	local kind=$1 n=$2
	rm -f "$OUT/$kind.jsonl"
	for ((r = 0; r < n; r++)); do
		step "$kind round $((r + 1)) of $n"
		"$OUT/bench.test" -test.run '^TestRound$' -test.count=1 -test.timeout=30m \
			-round.kind "$kind" -round.index "$r" -round.scale "$SCALE" -round.out "$OUT/$kind.jsonl"
	done
}

want micro && rounds micro "$ROUNDS"
want contention && rounds contention "$CROUNDS"
want update && rounds update "$CROUNDS"

step "tables (median over the rounds, min–max)"
files=()
for k in micro contention update; do
	[ -s "$OUT/$k.jsonl" ] && files+=("$OUT/$k.jsonl")
done
if [ "${#files[@]}" -gt 0 ]; then
	go run ./cmd/benchtables "${files[@]}" | tee "$OUT/tables.md"
fi

if want counts; then
	step "exact counts: round trips, contention (small), exactly-once creates, merge semantics"
	go test -run '^(TestRoundTripsPerRecoveredConflict|TestContention|TestExactlyOnceCreates|TestApimachineryRevertsConcurrentChange|TestMergeFixture)$' \
		-v -count=1 . | tee "$OUT/counts.txt"
fi

if [ "${SOAK:-}" = full ]; then
	step "soak, full size, under -race"
	go test -race -run '^TestSoak$' -soak.full -v -count=1 -timeout 60m . | tee "$OUT/soak.txt"
fi

step "done; raw outputs in $OUT"
