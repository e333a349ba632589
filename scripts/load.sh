#!/usr/bin/env bash
# Load run: builds the server, serves it under each algorithm, and measures with wrk, in one run:
#   - /api/profile (bearer token) and /forward-auth (the same check, for reverse proxies) against
#     /healthz, as ratios, for HS256 RS256 PS256 ES256 EdDSA;
#   - protected-route p99 latency alone and during a login flood;
#   - login rate against the bcrypt bound (CPUs / time of one hash);
#   - refresh rate (rotation chains) against pgbench's own transaction rate on the same PostgreSQL.
# Needs wrk (apt-get install wrk); pgbench and LOAD_DATABASE_URL (a throwaway database: pgbench
# creates and drops its tables there) for the PostgreSQL part.
# Usage: scripts/load.sh            (DURATION=10s CONNECTIONS=32 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-10s}
conns=${CONNECTIONS:-32}
threads=2
cost=${LOAD_BCRYPT_COST:-10}
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/server" ./cmd/server
secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export JWT_ACCESS_SECRET=$(secret) JWT_REFRESH_SECRET=$(secret)
export RATE_LIMIT_MAX=1000000000 AUTH_RATE_LIMIT_MAX=1000000000 LOGIN_MAX_FAILURES=1000000
export BCRYPT_COST=$cost COOKIE_SECURE=false PORT=${LOAD_PORT:-3999}
export LOAD_EMAIL=load@example.com LOAD_PASSWORD='load test pass phrase'
base=http://127.0.0.1:$PORT

start() { # start ALG DATABASE_URL
  stop
  local key=
  if [ "$1" != HS256 ]; then
    key=$("$work/server" keys generate --alg "$1" --out "$work/keys-$1" | awk '/private key/ {print $3}')
  fi
  JWT_ALGORITHM=$1 JWT_PRIVATE_KEY_FILE=$key DATABASE_URL=$2 "$work/server" >/dev/null 2>"$work/server.err" &
  pid=$!
  for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  cat "$work/server.err" >&2; exit 1
}
stop() { if [ -n "$pid" ]; then kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; fi; }

login() { # prints the login answer's body; the user is created once per database
  curl -s "$base/api/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$LOAD_EMAIL\",\"password\":\"$LOAD_PASSWORD\"}" >/dev/null
  curl -s -D "$work/headers" "$base/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$LOAD_EMAIL\",\"password\":\"$LOAD_PASSWORD\"}"
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '$1 == "99%" {print $2}'; }
bench() { wrk -t$threads -c"$conns" -d"$duration" --latency "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "== protected route and forward-auth vs /healthz (wrk -t$threads -c$conns -d$duration, SQLite)"
printf '%-6s %12s %14s %6s %16s %6s\n' alg healthz/s profile/s ratio forward-auth/s ratio
for alg in HS256 RS256 PS256 ES256 EdDSA; do
  start "$alg" "sqlite:$work/$alg.db"
  token=$(login | field accessToken)
  h=$(bench "$base/healthz" | rps)
  p=$(bench -H "Authorization: Bearer $token" "$base/api/profile" | rps)
  f=$(bench -H "Authorization: Bearer $token" "$base/forward-auth" | rps)
  printf '%-6s %12s %14s %6s %16s %6s\n' "$alg" "$h" "$p" "$(ratio "$p" "$h")" "$f" "$(ratio "$f" "$h")"
done

echo "== logins against the bcrypt bound, and protected-route p99 (4 connections) alone and during a login flood (EdDSA, bcrypt cost $cost)"
probe() { wrk -t1 -c4 -d"$duration" --latency -H "Authorization: Bearer $token" "$base/api/profile"; }
alone=$(probe | p99)
logins=$(bench -s scripts/wrk/login.lua "$base/api/auth/login" | rps)
bench -s scripts/wrk/login.lua "$base/api/auth/login" >/dev/null &
flood=$!
sleep 1
during=$(probe | p99)
wait $flood
one=$(LOAD_BCRYPT_COST=$cost go test -run '^$' -bench 'BenchmarkHash$' -benchtime 20x ./internal/auth | awk '/^BenchmarkHash/ {print $3}')
bound=$(awk -v ns="$one" -v cpus="$(nproc)" 'BEGIN {printf "%.1f", cpus * 1e9 / ns}')
echo "logins/s: $logins   bcrypt bound (CPUs / one hash of $one ns): $bound/s   ratio $(ratio "$logins" "$bound")"
echo "profile p99 alone: $alone   during the login flood: $during"

if [ -n "${LOAD_DATABASE_URL:-}" ]; then
  echo "== refresh rotations against PostgreSQL's own transaction rate (-c$threads)"
  start HS256 "$LOAD_DATABASE_URL"
  : >"$work/refresh"
  for _ in $(seq $threads); do
    login >/dev/null
    sed -n 's/^Set-Cookie: refreshToken=\([^;]*\);.*/\1/p' "$work/headers" | tr -d '\r' >>"$work/refresh"
  done
  r=$(LOAD_REFRESH_FILE="$work/refresh" wrk -t$threads -c$threads -d"$duration" -s scripts/wrk/refresh.lua \
    "$base/api/auth/refresh" | tee "$work/refresh.out" | rps)
  grep 'refresh failures' "$work/refresh.out"
  stop
  pgbench -i -q -s 1 "$LOAD_DATABASE_URL" >/dev/null 2>&1
  tps=$(pgbench -n -N -c$threads -j$threads -T"${duration%s}" "$LOAD_DATABASE_URL" 2>/dev/null | awk '/^tps/ {print $3}')
  pgbench -i -I d "$LOAD_DATABASE_URL" >/dev/null 2>&1
  echo "refresh/s: $r   pgbench simple-update tps: $tps   ratio $(ratio "$r" "$tps")"
fi
