#!/usr/bin/env bash
# Runs govulncheck over the module with NO access to vuln.go.dev.
#
# The Go vulnerability database is taken from the golang.org/x/vulndb module
# (served by the Go module proxy, pinned below with its checksum). Its
# data/osv/*.json files are turned into a local database in the vuln.go.dev
# layout by the tiny stdlib-only program in .ci/vulndb/, and govulncheck
# reads it with -db file://...
#
# Before the real scan, a canary module that calls golang-jwt v5.2.1 must be
# reported as affected by GO-2025-3553; if it is not, the database is broken
# and this script fails instead of passing silently.
#
# To refresh the database: pick a newer pseudo-version of golang.org/x/vulndb
# (go list -m -json golang.org/x/vulndb@master), then update VULNDB_VERSION
# and VULNDB_SUM (the "Sum" of `go mod download -json golang.org/x/vulndb@V`).
#
# Usage: .ci/govulncheck.sh [package patterns...]   (default ./...)
set -euo pipefail

GOVULNCHECK_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
VULNDB_SUM=h1:mfngRv0Yoh0VApsXKEN82CjD99kl7mtparN3bs3JnqI=
CANARY_ID=GO-2025-3553

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/govulncheck.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() { echo "govulncheck step FAILED: $*" >&2; exit 1; }

# 1. Fetch the pinned vulndb module (outside any module: nothing in the repo changes).
echo "-- fetching golang.org/x/vulndb@$VULNDB_VERSION"
info=$(cd "$work" && GOFLAGS= GOWORK=off go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION") ||
	fail "cannot download golang.org/x/vulndb@$VULNDB_VERSION from the module proxy"
grep -q "\"Sum\": \"$VULNDB_SUM\"" <<<"$info" ||
	fail "golang.org/x/vulndb@$VULNDB_VERSION has an unexpected checksum (want $VULNDB_SUM)"
dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
[[ -n "$dir" && -d "$dir/data/osv" ]] ||
	fail "golang.org/x/vulndb@$VULNDB_VERSION has no data/osv folder (dir: ${dir:-?}); the module layout changed"

# 2. Build the local database (the program refuses fewer than 1000 entries).
snapshot=${VULNDB_VERSION#v0.0.0-}
snapshot=${snapshot%%-*}                 # 20261105234957
modified="${snapshot:0:4}-${snapshot:4:2}-${snapshot:6:2}T${snapshot:8:2}:${snapshot:10:2}:${snapshot:12:2}Z"
echo "-- building the local vulnerability database (snapshot $modified)"
(cd "$repo/.ci/vulndb" && GOWORK=off go run . -osv "$dir/data/osv" -out "$work/db" -modified "$modified") ||
	fail "could not build the local database from $dir/data/osv"
[[ -s "$work/db/index/modules.json" && -s "$work/db/ID/$CANARY_ID.json" ]] ||
	fail "local database is incomplete (no index/modules.json or ID/$CANARY_ID.json)"

# 3. Install the pinned govulncheck into the scratch folder.
echo "-- installing golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
(cd "$work" && GOWORK=off GOBIN="$work/bin" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION") ||
	fail "cannot install govulncheck@$GOVULNCHECK_VERSION"
gvc=("$work/bin/govulncheck" -db "file://$work/db")

# 4. Canary: a known-vulnerable call must be detected (exit status 3).
echo "-- canary: golang-jwt v5.2.1 must be reported as $CANARY_ID"
mkdir -p "$work/canary"
cat >"$work/canary/go.mod" <<'EOF'
module canary

go 1.26

require github.com/golang-jwt/jwt/v5 v5.2.1
EOF
cat >"$work/canary/go.sum" <<'EOF'
github.com/golang-jwt/jwt/v5 v5.2.1 h1:OuVbFODueb089Lh128TAcimifWaLhJwVflnrgM17wHk=
github.com/golang-jwt/jwt/v5 v5.2.1/go.mod h1:pqrtFR0X4osieyHYxtmOUWsAWrfe1Q5UVIyoH402zdk=
EOF
cat >"$work/canary/main.go" <<'EOF'
package main

import (
	"fmt"
	"os"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	_, err := jwt.Parse(os.Args[1], func(*jwt.Token) (any, error) { return []byte("k"), nil })
	fmt.Println(err)
}
EOF
set +e
canary_out=$(cd "$work/canary" && GOWORK=off GOFLAGS=-mod=readonly "${gvc[@]}" ./... 2>&1)
rc=$?
set -e
if [[ $rc -ne 3 ]] || ! grep -q "$CANARY_ID" <<<"$canary_out"; then
	printf '%s\n' "$canary_out" >&2
	fail "canary NOT detected (exit $rc): the local database or govulncheck does not work, so a clean result would mean nothing"
fi
echo "   ok: canary detected"

# 5. The real scan. Exit 0: no vulnerable code is called; 3: vulnerable code is called.
echo "-- govulncheck ${*:-./...} (Go $(go env GOVERSION))"
cd "$repo"
set +e
"${gvc[@]}" "${@:-./...}"
rc=$?
set -e
case $rc in
0) echo "govulncheck: no called vulnerabilities" ;;
3) fail "govulncheck found vulnerable code paths (see above): upgrade the module or the Go toolchain named in 'Fixed in'" ;;
*) fail "govulncheck could not run (exit $rc)" ;;
esac
