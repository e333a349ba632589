#!/usr/bin/env bash
# Load run: builds the stripped static server (scripts/build-tags) and prints ONE table, every row
# measured in this run, most of them as a ratio to a baseline taken right beside it:
#   - GET /api/profile and GET /forward-auth against GET /healthz (wrk, after a warm-up, in ROUNDS
#     rounds that run each route once for DURATION/4, in the six orders of the three in turn; the
#     median of each route's ratios to /healthz in the same round), for HS256 RS256 PS256 ES256 EdDSA,
#     with the server's own CPU time per request;
#   - logins against the bcrypt bound (CPUs / time of one compare at the configured cost, timed
#     just before) at 8 and 50 connections, counting 5xx and shed answers (429/503);
#   - /api/profile p99 (4 connections) during a 50-connection login flood against alone (three pairs;
#     the median of their ratios);
#   - refresh rotations on PostgreSQL against pgbench -N at the same connections (LOAD_DATABASE_URL;
#     twice each, in the order pgbench refresh refresh pgbench), and on SQLite against 2,000/s;
#   - peak resident memory, start-up to listening on SQLite, binary size.
# Needs: wrk (apt-get install wrk), curl, and for the PostgreSQL rows pgbench (apt-get install
# postgresql-contrib, or /usr/lib/postgresql/*/bin/pgbench) and LOAD_DATABASE_URL, a throwaway
# database: pgbench creates and drops its tables there and the server migrates it.
# Usage: scripts/load.sh      DURATION=8s ROUNDS=24 CONNECTIONS=50 REFRESH_CONNECTIONS=16 LOAD_BCRYPT_COST=12
#                             LOGIN_DURATION=24s (a login run counts only the hashes it completes:
#                             the longer it runs, the less the hashes cut off at its end weigh)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-8s}
conns=${CONNECTIONS:-50}
rconns=${REFRESH_CONNECTIONS:-16}
cost=${LOAD_BCRYPT_COST:-12}
login_duration=${LOGIN_DURATION:-$((3 * ${duration%s}))s}
rounds=${ROUNDS:-24}
route_duration=$(( ${duration%s} >= 4 ? ${duration%s} / 4 : 1 ))s # each of the 3 × ROUNDS runs per algorithm (at least 1 s)
for tool in wrk curl; do command -v $tool >/dev/null || { echo "load.sh needs $tool (apt-get install $tool)" >&2; exit 1; }; done
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -n 1 || true)
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -tags "$(cat scripts/build-tags)" -trimpath -ldflags="-s -w" -o "$work/server" ./cmd/server
go build -o "$work/refreshload" ./scripts/refreshload
secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export JWT_ACCESS_SECRET=$(secret) JWT_REFRESH_SECRET=$(secret) HOST=127.0.0.1
export RATE_LIMIT_MAX=1000000000 AUTH_RATE_LIMIT_MAX=1000000000 LOGIN_MAX_FAILURES=1000000
export BCRYPT_COST=$cost COOKIE_SECURE=false PORT=${LOAD_PORT:-3999}
export LOAD_EMAIL=load@example.com LOAD_PASSWORD='load test pass phrase'
base=http://127.0.0.1:$PORT
rows=()
row() { rows+=("$(printf '| %s | %s | %s | %s |' "$1" "$2" "$3" "$4")"); } # what, measured, ratio, target
hwm=0

start() { # start ALG DATABASE_URL: serve, wait until it listens, note the start-up time in $startup_ms
  stop
  local key=
  if [ "$1" != HS256 ]; then
    key=$("$work/server" keys generate --alg "$1" --out "$work/keys-$1" | awk '/private key/ {print $3}')
  fi
  local t0
  t0=$(date +%s%N)
  JWT_ALGORITHM=$1 JWT_PRIVATE_KEY_FILE=$key DATABASE_URL=$2 "$work/server" >"$work/server.out" 2>"$work/server.err" &
  pid=$!
  for _ in $(seq 500); do
    if grep -q '"msg":"listening"' "$work/server.out" 2>/dev/null; then
      startup_ms=$(sed -n 's/.*"time":"\([^"]*\)".*"msg":"listening".*/\1/p' "$work/server.out" | head -n 1 |
        xargs -I{} date -d {} +%s%N | awk -v t0="$t0" '{printf "%.0f", ($1 - t0) / 1e6}')
      return
    fi
    sleep 0.02
  done
  cat "$work/server.err" >&2; exit 1
}
stop() {
  if [ -n "$pid" ]; then
    local peak
    peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${peak:-0}" -gt "$hwm" ] && hwm=$peak
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  fi
}
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # the server's user+system CPU, in clock ticks
idle() { # waits (up to 15 s) until the server and its bcrypt worker used no CPU for 0.5 s: hashes of a run just ended
  local was= now
  for _ in $(seq 30); do
    now=$(for p in "$pid" $(cat /proc/"$pid"/task/*/children); do cat "/proc/$p/stat"; done 2>/dev/null |
      awk '{n += $14 + $15} END {print n}')
    [ "$now" = "$was" ] && return
    was=$now
    sleep 0.5
  done
}

login() { # prints the login answer's body; the user is created once per database
  curl -s "$base/api/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$LOAD_EMAIL\",\"password\":\"$LOAD_PASSWORD\"}" >/dev/null
  curl -s -D "$work/headers" "$base/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$LOAD_EMAIL\",\"password\":\"$LOAD_PASSWORD\"}"
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
ms() { # a wrk latency (e.g. 1.23ms, 850.00us, 1.02s) in milliseconds
  awk -v v="$1" 'BEGIN {n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n}'
}
p99() { ms "$(awk '$1 == "99%" {print $2}' "$1")"; }
declare -A reqs rates ticks errs round_rps
measure() { # measure ROUTE ROUND wrk-args...: one wrk run with $conns connections; its req/s kept for
  local r=$1 i=$2 c0 c1 # the round, and added to ROUTE's totals: requests, req/s, server CPU ticks, non-2xx
  shift 2
  c0=$(cpu)
  wrk -t2 -c"$conns" -d"$route_duration" "$@" >"$work/wrk"
  c1=$(cpu)
  round_rps[$r:$i]=$(awk '/Requests\/sec/ {print $2}' "$work/wrk")
  reqs[$r]=$(awk -v t="${reqs[$r]:-0}" '/requests in/ {t += $1} END {print t}' "$work/wrk")
  rates[$r]=$(awk -v t="${rates[$r]:-0}" '/Requests\/sec/ {t += $2} END {print t}' "$work/wrk")
  errs[$r]=$(awk -v t="${errs[$r]:-0}" '/Non-2xx/ {t += $NF} END {print t}' "$work/wrk")
  ticks[$r]=$((${ticks[$r]:-0} + c1 - c0))
}
us_per_req() { awk -v t="${ticks[$1]}" -v n="${reqs[$1]}" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}'; }
mean_rps() { awk -v t="${rates[$1]}" -v n="$rounds" 'BEGIN {printf "%.0f", t / n}'; } # over a route's runs
round_ratios() { # ROUTE's req/s over /healthz's in the same round, one line per round, in ascending order
  local i
  for ((i = 0; i < rounds; i++)); do ratio "${round_rps[$1:$i]}" "${round_rps[healthz:$i]}"; echo; done | sort -n
}
quartiles() { # the lowest, first quartile, median, third quartile and highest of ROUTE's round ratios
  round_ratios "$1" | awk '{v[NR] = $1}
    function q(p,  x, i) {x = 1 + p * (NR - 1); i = int(x); return v[i] + (x - i) * (v[i + 1] - v[i])}
    END {printf "%.2f %.2f %.2f %.2f %.2f\n", v[1], q(0.25), q(0.5), q(0.75), v[NR]}'
}
# ROUNDS rounds, each running every route once, in the six orders of the three routes in turn: each
# route runs first, second and third alike, and after each of the others. A route's ratio is the
# median of its ratios, each to the /healthz run of the same round: a change in the machine's load
# weighs on the runs of one round alike, and a burst that falls on one run moves one ratio of many.
# On a shared 2-CPU machine one round's ratio spreads by ±0.1 around the median.
orders=("h p f" "p f h" "f h p" "h f p" "f p h" "p h f")

for alg in HS256 RS256 PS256 ES256 EdDSA; do
  start "$alg" "sqlite:$work/$alg.db"
  [ "$alg" = HS256 ] && first_startup=$startup_ms
  token=$(login | field accessToken)
  auth=(-H "Authorization: Bearer $token")
  # A second of each kind first: a new process's first requests pay for its heap and connections
  # (and the first bearer request for the signature check), which would fall on whichever ran first.
  wrk -t2 -c"$conns" -d1s "$base/healthz" >/dev/null
  wrk -t2 -c"$conns" -d1s "${auth[@]}" "$base/forward-auth" >/dev/null
  reqs=() rates=() ticks=() errs=() round_rps=()
  for ((i = 0; i < rounds; i++)); do
    for r in ${orders[i % ${#orders[@]}]}; do
      case $r in
        h) measure healthz "$i" "$base/healthz" ;;
        p) measure profile "$i" "${auth[@]}" "$base/api/profile" ;;
        f) measure forward-auth "$i" "${auth[@]}" "$base/forward-auth" ;;
      esac
    done
  done
  for r in profile forward-auth; do
    errors=${errs[$r]}; [ "$errors" = 0 ] && errors=
    read -r lo q1 med q3 hi < <(quartiles $r)
    row "/$r vs /healthz, $alg (mean req/s; server CPU µs/req; ratio: median of $rounds rounds)" \
      "$(mean_rps $r) vs $(mean_rps healthz); $(us_per_req $r) vs $(us_per_req healthz); rounds $lo, $q1 – $q3, $hi${errors:+; $errors non-2xx}" \
      "$med" "≥ 0.90"
  done
done

# EdDSA server still running: logins, then the flood.
one=$(LOAD_BCRYPT_COST=$cost go test -run '^$' -bench 'BenchmarkCompare$' -benchtime 8x ./internal/auth | awk '/^BenchmarkCompare/ {print $3}')
cpus=$(nproc)
bound=$(awk -v ns="$one" -v cpus="$cpus" 'BEGIN {printf "%.2f", cpus * 1e9 / ns}')
for c in 8 50; do
  idle
  wrk -t2 -c"$c" -d"$login_duration" -s scripts/wrk/login.lua "$base/api/auth/login" >"$work/login$c"
  ok=$(awk '/^statuses/ {for (i = 2; i <= NF; i++) {split($i, kv, "="); if (kv[1] == 200) n += kv[2]}} END {print n + 0}' "$work/login$c")
  secs=$(awk '/requests in/ {sub(/,$/, "", $4); v = $4 + 0; if ($4 ~ /ms$/) v /= 1000; else if ($4 ~ /m$/) v *= 60; print v}' "$work/login$c")
  rate=$(awk -v n="$ok" -v s="$secs" 'BEGIN {printf "%.2f", n / s}')
  row "logins/s at $c connections vs bcrypt bound ($cpus CPUs / $(awk -v ns="$one" 'BEGIN {printf "%.0f", ns / 1e6}') ms, cost $cost)" \
    "$rate vs $bound; answers $(grep '^statuses' "$work/login$c" | cut -d' ' -f2-)" "$(ratio "$rate" "$bound")" \
    "$([ "$c" = 8 ] && echo "≥ 0.95, no 5xx" || echo "≥ 0.95, shed 503 + Retry-After")"
done
probe() { wrk -t1 -c4 -d"$duration" --latency "${auth[@]}" "$base/api/profile" >"$1"; }
# Three pairs, each the probe alone then during a flood; the row is the pair with the median ratio.
flood_ratios=()
for i in 1 2 3; do
  idle # else the hashes still running for the logins before weigh on the probe alone
  probe "$work/alone$i"
  wrk -t2 -c50 -d"$((${duration%s} + 2))s" -s scripts/wrk/login.lua "$base/api/auth/login" >/dev/null & # outlasts the probe
  flood=$!
  sleep 0.5
  probe "$work/during$i"
  wait $flood
  flood_ratios+=("$(ratio "$(p99 "$work/during$i")" "$(p99 "$work/alone$i")") $i")
done
i=$(printf '%s\n' "${flood_ratios[@]}" | sort -n | sed -n 2p | cut -d' ' -f2)
row "/api/profile p99 at 4 connections: during a 50-connection login flood vs alone (median of 3 pairs; all: $(printf '%s\n' "${flood_ratios[@]}" | cut -d' ' -f1 | paste -sd' '))" \
  "$(p99 "$work/during$i") ms vs $(p99 "$work/alone$i") ms" "$(ratio "$(p99 "$work/during$i")" "$(p99 "$work/alone$i")")" "≤ 3"
stop

refresh() { # refresh DATABASE_URL CONNECTIONS OUT: rotation chains, one per connection, driven by
  # scripts/refreshload (connections on as many threads as CPUs, as pgbench -j2 runs its clients)
  start HS256 "$1"
  : >"$work/refresh"
  for _ in $(seq "$2"); do
    login >/dev/null
    sed -n 's/^Set-Cookie: refreshToken=\([^;]*\);.*/\1/p' "$work/headers" | tr -d '\r' >>"$work/refresh"
  done
  "$work/refreshload" -url "$base" -tokens "$work/refresh" -c "$2" -d "$duration" >"$3"
  stop
}
refresh "sqlite:$work/refresh.db" "$rconns" "$work/rs"
row "refresh rotations/s on SQLite, $rconns connections" "$(rps "$work/rs"); $(grep 'refresh failures' "$work/rs")" \
  "$(ratio "$(rps "$work/rs")" 2000)" "≥ 1.00 (2,000/s)"
if [ -n "${LOAD_DATABASE_URL:-}" ] && [ -n "$pgbench" ]; then
  # pgbench, refresh, refresh, pgbench: both have the same mean time, as the protected routes do.
  # pgbench's tables live only during its own runs; each refresh run starts a server on the
  # database with fresh chains.
  pgb() {
    "$pgbench" -i -q -s 1 "$LOAD_DATABASE_URL" >/dev/null 2>&1
    "$pgbench" -n -N -c"$rconns" -j2 -T"${duration%s}" "$LOAD_DATABASE_URL" 2>/dev/null | awk '/^tps/ {print $3}'
    "$pgbench" -i -I d "$LOAD_DATABASE_URL" >/dev/null 2>&1
  }
  tps1=$(pgb)
  refresh "$LOAD_DATABASE_URL" "$rconns" "$work/rp1"
  refresh "$LOAD_DATABASE_URL" "$rconns" "$work/rp2"
  tps2=$(pgb)
  tps=$(awk -v a="$tps1" -v b="$tps2" 'BEGIN {printf "%.0f", (a + b) / 2}')
  rrate=$(awk -v a="$(rps "$work/rp1")" -v b="$(rps "$work/rp2")" 'BEGIN {printf "%.0f", (a + b) / 2}')
  failures=$(cat "$work/rp1" "$work/rp2" | awk '/refresh failures/ {n += $3} END {print n + 0}')
  row "refresh/s on PostgreSQL vs pgbench -N tps, $rconns connections each (mean of two runs each)" \
    "$rrate vs $tps; refresh failures: $failures" "$(ratio "$rrate" "$tps")" "≥ 0.80, 0 failures"
else
  row "refresh on PostgreSQL vs pgbench -N" "skipped: set LOAD_DATABASE_URL and install pgbench" "" "≥ 0.80"
fi

size=$(stat -c %s "$work/server")
row "peak resident memory (VmHWM) of any server above, MB" "$(awk -v k="$hwm" 'BEGIN {printf "%.1f", k / 1024}')" \
  "$(awk -v k="$hwm" 'BEGIN {printf "%.2f", k / 1024 / 64}')" "≤ 1.00 (64 MB)"
row "start-up to listening on a new SQLite file, ms" "$first_startup" "$(ratio "$first_startup" 100)" "≤ 1.00 (100 ms)"
row "stripped static binary, MiB (-tags $(cat scripts/build-tags))" "$(awk -v b="$size" 'BEGIN {printf "%.1f", b / 1048576}')" \
  "$(awk -v b="$size" 'BEGIN {printf "%.2f", b / 1048576 / 30}')" "≤ 1.00 (30 MiB)"

echo "load.sh on $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; wrk -t2 -c$conns: protected routes $rounds rounds of 3 × $route_duration (rounds: lowest, quartiles, highest), logins $login_duration, refresh $duration"
echo "| measure | measured | ratio | target |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
