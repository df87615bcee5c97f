#!/usr/bin/env bash
# Start or stop the real servers the integration tests run against
# (pouchdb-server for the CouchDB API, Azurite for Azure Blob Storage).
#
#   .ci/peers.sh start   start both; print the tests' environment as
#                        `export NAME=value` lines on stdout (progress goes to
#                        stderr) and write the same to $PEERS_STATE/peers.env
#   .ci/peers.sh stop    stop both (each only by the pid its start.sh wrote)
#   .ci/peers.sh env     print the environment again, without starting
#
# CONFLICT_PEERS is the folder holding the servers' start.sh / stop.sh; by
# default ../shared/peers next to the checkout (see its README.md). State
# (node_modules, pid files, logs) goes under PEERS_STATE; start makes a fresh
# temporary folder when it is unset, and stop then needs the value start
# printed. The ports are the servers' own: POUCHDB_PORT (15984) and
# AZURITE_BLOB_PORT (10000).
#
# Typical use (as .ci/run does; `eval "$(.ci/peers.sh start)"` would hide a
# failed start behind eval's own status):
#   export PEERS_STATE="$(mktemp -d)"
#   trap '.ci/peers.sh stop || true; rm -rf "$PEERS_STATE"' EXIT
#   .ci/peers.sh start >"$PEERS_STATE/env"
#   . "$PEERS_STATE/env"
#   CI=true go test -race -count=1 ./integration/...
#
# A cold start (empty npm cache, fresh PEERS_STATE) installs both servers
# from the npm registry: 45 s on an idle 2-core machine, about 2 min when it
# is loaded. With node_modules already in PEERS_STATE it takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${CONFLICT_PEERS:-$ROOT/../shared/peers}"
SERVERS=(pouchdb-server azurite)

say() { printf 'peers: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

check_peers() {
	[ -d "$PEERS" ] || die "no peers folder at $PEERS (set CONFLICT_PEERS to the folder holding pouchdb-server/ and azurite/)"
	PEERS="$(cd "$PEERS" && pwd)"
	local s
	for s in "${SERVERS[@]}"; do
		[ -x "$PEERS/$s/start.sh" ] && [ -x "$PEERS/$s/stop.sh" ] ||
			die "$PEERS/$s/start.sh or stop.sh is missing or not executable"
	done
	command -v node >/dev/null || die "node is not installed (the servers are node programs)"
	command -v npm >/dev/null || die "npm is not installed (the servers install from the npm registry)"
	command -v curl >/dev/null || die "curl is not installed (start.sh waits with it)"
}

# q quotes a value for a POSIX shell: 'it'\''s'.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

print_env() {
	local sas
	sas="$(node "$PEERS/azurite/sas.js")" || die "node $PEERS/azurite/sas.js failed"
	echo "export PEERS_STATE=$(q "$PEERS_STATE")"
	echo "export CONFLICT_PEERS=$(q "$PEERS")"
	echo "export CONFLICT_COUCHDB_URL=$(q "http://127.0.0.1:${POUCHDB_PORT:-15984}")"
	echo "export CONFLICT_AZURITE_URL=$(q "http://127.0.0.1:${AZURITE_BLOB_PORT:-10000}/devstoreaccount1")"
	echo "export CONFLICT_AZURITE_SAS=$(q "$sas")"
}

stop_all() {
	local s rc=0
	for s in "${SERVERS[@]}"; do
		"$PEERS/$s/stop.sh" >&2 || rc=1
	done
	return $rc
}

start() {
	check_peers
	if [ -z "${PEERS_STATE:-}" ]; then
		PEERS_STATE="$(mktemp -d "${TMPDIR:-/tmp}/conflict-peers.XXXXXX")"
		say "PEERS_STATE was unset; using $PEERS_STATE (pass it to '$0 stop')"
	fi
	mkdir -p "$PEERS_STATE"
	export PEERS_STATE
	# Fail fast, before minutes of npm install, when a port is taken by a
	# server this PEERS_STATE did not start (start.sh checks again).
	local s port pidfile busy=()
	for s in "${SERVERS[@]}"; do
		case "$s" in
		pouchdb-server) port="${POUCHDB_PORT:-15984}" pidfile="$PEERS_STATE/$s/run/pouchdb-server.pid" ;;
		azurite) port="${AZURITE_BLOB_PORT:-10000}" pidfile="$PEERS_STATE/$s/run/azurite.pid" ;;
		esac
		if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then continue; fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then busy+=("$s (127.0.0.1:$port)"); fi
	done
	[ ${#busy[@]} -eq 0 ] || die "port taken by a server this PEERS_STATE did not start: ${busy[*]}; stop it, or set POUCHDB_PORT / AZURITE_BLOB_PORT"
	local t0 i failed=() pids=()
	t0=$(date +%s)
	# Both at once: the installs are mostly network waits.
	for s in "${SERVERS[@]}"; do
		say "starting $s (log: $PEERS_STATE/$s.start.log)"
		(
			s0=$(date +%s)
			rc=0
			"$PEERS/$s/start.sh" || rc=$?
			echo "$s: start.sh took $(($(date +%s) - s0)) s"
			exit $rc
		) >"$PEERS_STATE/$s.start.log" 2>&1 &
		pids+=($!)
	done
	for i in "${!SERVERS[@]}"; do
		s="${SERVERS[$i]}"
		if wait "${pids[$i]}"; then
			say "$(tail -n 2 "$PEERS_STATE/$s.start.log" | paste -sd ';' - | sed 's/;/; /')"
		else
			failed+=("$s")
			say "$s FAILED to start; its output:"
			sed 's/^/    /' "$PEERS_STATE/$s.start.log" >&2
		fi
	done
	if [ ${#failed[@]} -gt 0 ]; then
		say "stopping what did start"
		stop_all || true
		die "could not start: ${failed[*]}"
	fi
	say "both servers up in $(($(date +%s) - t0)) s"
	print_env | tee "$PEERS_STATE/peers.env"
}

stop() {
	[ -n "${PEERS_STATE:-}" ] || die "PEERS_STATE is unset: give stop the PEERS_STATE that start used"
	check_peers
	export PEERS_STATE
	stop_all
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env)
	[ -n "${PEERS_STATE:-}" ] || die "PEERS_STATE is unset"
	check_peers
	print_env
	;;
*)
	echo "usage: $0 start|stop|env" >&2
	exit 2
	;;
esac
