#!/usr/bin/env bash
# carepath on a Dask cluster spread over three "hosts" with their own IP addresses, on ONE machine.
#
# What it builds (Linux network namespaces, needs root, iproute2; iptables for the firewall cases):
#
#     cpnet-h1  10.77.0.1  dask scheduler (port 8786) and `carepath run` (the analyst's machine)
#     cpnet-h2  10.77.0.2  dask worker (one single-threaded process; two in fixed-ports and kill)
#     cpnet-h3  10.77.0.3  dask worker (one single-threaded process)
#     cpnet-sw             a bridge joining the three (a network switch), through veth cables
#
# Each namespace has its own interfaces, addresses, routing and firewall, so traffic between
# them really crosses a (virtual) network: nothing goes over 127.0.0.1, a process that listens on
# the wrong address cannot be reached, and iptables rules apply per "host". They still share one
# kernel, one disk and one Python installation (/work/main/.venv), so this does NOT test differing
# dependency versions, name resolution (DNS) or a real network's latency: it is separate
# addresses, not separate physical machines.
#
# Each scenario starts a fresh scheduler and fresh workers (so no connection is left over from the
# previous one), runs `carepath run --scheduler tcp://10.77.0.1:8786` with a time limit, and
# records the exit status, the wall time, the first line of stderr and whether summary_by_fy.csv
# and stocks_by_month.csv are byte-identical to a run of the same seed on the local backend.
#
# Usage (as root, from anywhere):
#     benchmarks/multihost_netns.sh                 # every scenario (about 15 minutes)
#     benchmarks/multihost_netns.sh same kill       # only these scenarios
#     benchmarks/multihost_netns.sh --list          # the scenarios
#     benchmarks/multihost_netns.sh --cleanup       # remove namespaces and processes left behind
# Environment: OUT (default /tmp/carepath-netns), REPS (4), SEED (4242), HANG_AFTER (seconds after
# which a run counts as hung: 150), CAREPATH_SRC (a carepath source folder to put on PYTHONPATH of
# every process, e.g. to try a patch without installing it).
#
# Results: $OUT/results.tsv and a table on stdout; logs of every process in $OUT/<scenario>/.
# The namespaces and every process started in them are removed on exit, even after Ctrl-C.
# Running it again starts from scratch (it first removes whatever a previous run left behind).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
BIN="$REPO/.venv/bin"
PREFIX=cpnet
NET=10.77.0
SCHED="tcp://$NET.1:8786"
OUT="${OUT:-/tmp/carepath-netns}"
REPS="${REPS:-4}"
SEED="${SEED:-4242}"
HANG_AFTER="${HANG_AFTER:-150}"
TABLES=(summary_by_fy.csv stocks_by_month.csv)
ALL_SCENARIOS=(same fixed-ports kill switched-off scheduler-blocked scheduler-rejected scheduler-absent
               worker-loopback worker-bad-contact workers-default-deny workers-isolated)

describe() {
  case "$1" in
    same)               echo "open network; workers --host 10.77.0.X; tables equal the local backend's" ;;
    fixed-ports)        echo "firewalls: h1 accepts only 8786, worker hosts only their worker ports 9000-9001 (nanny ports closed); h2 runs 2 workers (--worker-port 9000:9001), h3 listens on 0.0.0.0 and advertises --contact-address" ;;
    kill)               echo "as fixed-ports, $((2 * REPS)) replications; the worker process on h3 is killed (SIGKILL) mid-run" ;;
    switched-off)       echo "open network, $((2 * REPS)) replications; h3's cable is pulled mid-run (link down: no goodbye, packets vanish)" ;;
    scheduler-blocked)  echo "h1's firewall DROPs 8786 from the network; carepath run from h2" ;;
    scheduler-rejected) echo "h1's firewall REJECTs 8786 (connection refused); carepath run from h2" ;;
    scheduler-absent)   echo "carepath run --scheduler tcp://10.77.0.99:8786 (no such host)" ;;
    worker-loopback)    echo "h3's worker started with --host 127.0.0.1: registers, but advertises an address nobody else can reach" ;;
    worker-bad-contact) echo "h3's worker listens on 0.0.0.0:9000 but advertises --contact-address tcp://10.77.0.99:9000" ;;
    workers-default-deny) echo "worker hosts' firewall drops every new inbound connection (outbound allowed)" ;;
    workers-isolated)   echo "worker hosts accept connections from the scheduler host only, not from each other" ;;
    *) return 1 ;;
  esac
}

log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
ns() { local n="$1"; shift; ip netns exec "$PREFIX-$n" "$@"; }

# ----------------------------------------------------------------------------- the network
net_down() {
  local n pid
  for n in h1 h2 h3 sw; do
    if ip netns list | grep -qw "$PREFIX-$n"; then
      for pid in $(ip netns pids "$PREFIX-$n"); do kill -KILL "$pid" 2>/dev/null; done
      ip netns del "$PREFIX-$n"
    fi
  done
}

net_up() {
  net_down
  ip netns add "$PREFIX-sw"
  ns sw ip link add br0 type bridge
  ns sw ip link set br0 up
  local i
  for i in 1 2 3; do
    ip netns add "$PREFIX-h$i"
    # a cable: eth0 in the host, p<i> in the switch, plugged into the bridge
    ip link add eth0 netns "$PREFIX-h$i" type veth peer name "p$i" netns "$PREFIX-sw"
    ns sw ip link set "p$i" master br0 up
    ns "h$i" ip addr add "$NET.$i/24" dev eth0
    ns "h$i" ip link set eth0 up
    ns "h$i" ip link set lo up
  done
}

# ----------------------------------------------------------------------------- processes
PIDS=()     # process groups started by this script (each `setsid`)

start() {   # start NAME HOST CMD...: run CMD in the namespace, in a process group of its own
  local name="$1" host="$2"; shift 2
  setsid ip netns exec "$PREFIX-$host" env ${CAREPATH_SRC:+PYTHONPATH="$CAREPATH_SRC"} "$@" \
    >"$DIR/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
}

stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  PIDS=()
  local n
  for n in h1 h2 h3; do     # anything else still running in a host (e.g. a worker a nanny restarted)
    for pid in $(ip netns pids "$PREFIX-$n" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
}

cleanup() { stop_all; net_down; }

scheduler() { start scheduler h1 "$BIN/dask" scheduler --host "$NET.1" --port 8786 --no-dashboard "$@"; }

worker() {  # worker HOST OPTIONS...
  local host="$1"; shift
  start "worker-$host" "$host" "$BIN/dask" worker "$SCHED" --nthreads 1 --no-dashboard "$@"
}

wait_for_workers() {  # wait_for_workers N: until the scheduler has registered N workers (60 s at most)
  local t
  for t in $(seq 60); do
    [ "$(grep -c 'Register worker' "$DIR/scheduler.log" 2>/dev/null)" -ge "$1" ] && return 0
    sleep 1
  done
  log "only $(grep -c 'Register worker' "$DIR/scheduler.log") of $1 workers joined"; return 1
}

firewall() {  # firewall HOST RULE...: iptables rules on INPUT, in that host only
  local host="$1"; shift
  local rule
  for rule in "$@"; do ns "$host" iptables -A INPUT $rule; done
}

# the usual host firewall: loopback and replies to our own connections in, everything else per rules
firewall_base() { firewall "$1" "-i lo -j ACCEPT" "-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"; }

# ----------------------------------------------------------------------------- carepath runs
carepath() {  # carepath HOST REPS OUTDIR: `carepath run` on HOST, at most HANG_AFTER seconds
  local host="$1" reps="$2" out="$3"; shift 3
  ns "$host" env ${CAREPATH_SRC:+PYTHONPATH="$CAREPATH_SRC"} timeout --kill-after=5 "$HANG_AFTER" \
    "$BIN/carepath" run --replications "$reps" --seed "$SEED" --quiet --event-log none \
    --scheduler "${SCHEDULER_ADDRESS:-$SCHED}" --out "$out" >"$DIR/carepath.out" 2>"$DIR/carepath.err"
}

reference() {  # reference REPS: the local backend's tables for this seed (made once a run)
  local ref="$OUT/local-$1"
  if [ ! -f "$ref/${TABLES[1]}" ]; then
    log "local backend, $1 replications (the reference)"
    env ${CAREPATH_SRC:+PYTHONPATH="$CAREPATH_SRC"} "$BIN/carepath" run --replications "$1" --seed "$SEED" \
      --quiet --event-log none --workers 2 --out "$ref" >/dev/null || { log "the local run failed"; exit 1; }
  fi
  echo "$ref"
}

compare() {  # compare REF OUTDIR: "identical", "DIFFERENT" or "-" (no tables)
  local f
  [ -f "$2/${TABLES[0]}" ] || { echo "-"; return; }
  for f in "${TABLES[@]}"; do cmp -s "$1/$f" "$2/$f" || { echo "DIFFERENT"; return; }; done
  echo "identical"
}

run_and_record() {  # run_and_record SCENARIO CLIENT_HOST REPS [ACTION_AT SECONDS COMMAND...]
  local scenario="$1" host="$2" reps="$3"; shift 3
  local ref; ref="$(reference "$reps")"
  local out="$DIR/out" t0 t1 rc
  t0=$(date +%s.%N)
  carepath "$host" "$reps" "$out" &
  local cp=$!
  if [ $# -gt 0 ]; then        # something to do to the cluster mid-run
    local at="$1"; shift
    sleep "$at"; log "$scenario: $*"; "$@"
  fi
  wait "$cp"; rc=$?
  t1=$(date +%s.%N)
  local secs; secs=$(printf '%.1f' "$(echo "$t1 - $t0" | bc)")
  local err; err="$(head -n 1 "$DIR/carepath.err" | cut -c1-400)"
  local nerr; nerr=$(grep -c . "$DIR/carepath.err")
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && err="(no result after ${HANG_AFTER} s: killed) $err"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$rc" "$secs" "$(compare "$ref" "$out")" "$nerr" "$err" \
    | tee -a "$OUT/results.tsv"
}

# ----------------------------------------------------------------------------- the scenarios
pid_listening() {  # pid_listening HOST PORT: the process listening on PORT in HOST
  ns "$1" ss -Htlnp "sport = :$2" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1
}

scenario() {
  local s="$1"
  DIR="$OUT/$s"; rm -rf "$DIR"; mkdir -p "$DIR"
  log "$s: $(describe "$s")"
  case "$s" in
    same)
      scheduler; worker h2 --host "$NET.2"; worker h3 --host "$NET.3"; wait_for_workers 2
      run_and_record "$s" h1 "$REPS" ;;

    fixed-ports|kill)
      firewall_base h1; firewall h1 "-p tcp --dport 8786 -j ACCEPT" "-j DROP"
      for h in h2 h3; do firewall_base $h; firewall $h "-p tcp -s $NET.0/24 --dport 9000:9001 -j ACCEPT" "-j DROP"; done
      scheduler
      # h2: two worker processes, on ports 9000 and 9001; nanny ports random, and closed
      worker h2 --host "$NET.2" --nworkers 2 --worker-port 9000:9001
      # h3: listens on every interface, tells the others the address to use
      worker h3 --listen-address tcp://0.0.0.0:9000 --contact-address "tcp://$NET.3:9000" --nanny-port 9002
      wait_for_workers 3
      if [ "$s" = kill ]; then
        run_and_record "$s" h1 $((2 * REPS)) 12 kill_worker_process h3
        log "$s: workers registered in all: $(grep -c 'Register worker' "$DIR/scheduler.log") (4 = the killed one came back)"
      else
        run_and_record "$s" h1 "$REPS"
      fi ;;

    switched-off)
      scheduler; worker h2 --host "$NET.2"; worker h3 --host "$NET.3"; wait_for_workers 2
      run_and_record "$s" h1 $((2 * REPS)) 12 ns h3 ip link set eth0 down
      grep -E "Remove worker|lost|closed" "$DIR/scheduler.log" | head -n 3 >&2 ;;

    scheduler-blocked|scheduler-rejected)
      local how=DROP; [ "$s" = scheduler-rejected ] && how="REJECT --reject-with tcp-reset"
      firewall h1 "-i eth0 -p tcp --dport 8786 -j $how"
      scheduler
      run_and_record "$s" h2 "$REPS" ;;

    scheduler-absent)
      scheduler
      SCHEDULER_ADDRESS="tcp://$NET.99:8786" run_and_record "$s" h1 "$REPS" ;;

    worker-loopback)
      scheduler; worker h2 --host "$NET.2"; worker h3 --host 127.0.0.1; wait_for_workers 2
      run_and_record "$s" h1 "$REPS" ;;

    worker-bad-contact)
      scheduler; worker h2 --host "$NET.2"
      worker h3 --listen-address tcp://0.0.0.0:9000 --contact-address "tcp://$NET.99:9000"; wait_for_workers 2
      run_and_record "$s" h1 "$REPS" ;;

    workers-default-deny|workers-isolated)
      for h in h2 h3; do
        firewall_base $h
        [ "$s" = workers-isolated ] && firewall $h "-s $NET.1 -j ACCEPT"
        firewall $h "-j DROP"
      done
      scheduler; worker h2 --host "$NET.2"; worker h3 --host "$NET.3"; wait_for_workers 2
      run_and_record "$s" h1 "$REPS" ;;
  esac
  stop_all
  local h; for h in h1 h2 h3; do ns $h iptables -F INPUT 2>/dev/null; ns $h ip link set eth0 up; done
}

kill_worker_process() {  # the worker process on HOST (listening on 9000), not its nanny, which restarts it
  local pid; pid="$(pid_listening "$1" 9000)"
  [ -n "$pid" ] && kill -KILL "$pid" && log "killed worker process $pid on $1"
}

# ----------------------------------------------------------------------------- main
main() {
  case "${1:-}" in
    --list) local s; for s in "${ALL_SCENARIOS[@]}"; do printf '%-22s %s\n' "$s" "$(describe "$s")"; done; return ;;
    --cleanup) net_down; return ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; return ;;
  esac
  [ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
  command -v ip >/dev/null || { echo "needs iproute2 (ip)" >&2; exit 2; }
  [ -x "$BIN/dask" ] && [ -x "$BIN/carepath" ] || { echo "needs $BIN/dask and $BIN/carepath (make setup)" >&2; exit 2; }
  command -v bc >/dev/null || { echo "needs bc" >&2; exit 2; }
  local scenarios=("$@"); [ ${#scenarios[@]} -gt 0 ] || scenarios=("${ALL_SCENARIOS[@]}")
  local s
  for s in "${scenarios[@]}"; do describe "$s" >/dev/null || { echo "unknown scenario $s (--list)" >&2; exit 2; }; done
  if ! command -v iptables >/dev/null; then
    local kept=()
    for s in "${scenarios[@]}"; do
      case "$s" in fixed-ports|kill|scheduler-blocked|scheduler-rejected|workers-*) log "no iptables: skipping $s" ;;
                   *) kept+=("$s") ;; esac
    done
    scenarios=("${kept[@]}")
  fi

  trap cleanup EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$OUT"
  rm -rf "$OUT"/local-*     # references from an earlier run may come from other code
  printf 'scenario\texit\tseconds\ttables\tstderr_lines\tfirst_stderr_line\n' >"$OUT/results.tsv"
  net_up
  log "carepath $(git -C "$REPO" rev-parse --short HEAD)${CAREPATH_SRC:+ with PYTHONPATH=$CAREPATH_SRC}, seed $SEED, $REPS replications"
  for s in "${scenarios[@]}"; do scenario "$s"; done
  echo
  column -t -s $'\t' "$OUT/results.tsv" 2>/dev/null || cat "$OUT/results.tsv"
}

main "$@"
