# syntax=docker/dockerfile:1
#
# Production image: a static server binary on distroless, running as non-root (uid 65532).
#   docker build -t authserver .
# The image expects PostgreSQL (DATABASE_URL=postgres://... or DATABASE_URL_FILE): the
# embedded SQLite default (data/auth.db) is for local development only, and the root file
# system is meant to be read-only. The image has no shell: its HEALTHCHECK is the binary's
# own `server healthcheck` (GET /readyz on HOST:PORT). /secrets is an empty folder owned by
# the server's user, so a named volume mounted there starts writable for `server secrets init`.

# The Go patch release matches .ci/run (go1.26.10 fixes standard-library
# vulnerabilities present in go1.26.8).
FROM golang:1.26.10-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

# Module download layer: re-run only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download && go mod verify

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -tags "$(cat scripts/build-tags)" -trimpath -ldflags="-s -w" -o /out/server ./cmd/server \
    && mkdir -p /out/secrets

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
COPY --from=build --chown=65532:65532 --chmod=700 /out/secrets /secrets
EXPOSE 3000
USER nonroot:nonroot
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["/server", "healthcheck"]
ENTRYPOINT ["/server"]
