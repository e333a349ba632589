# syntax=docker/dockerfile:1
#
# Production image: a static server binary on distroless, running as non-root.
#   docker build -t authserver .
# The image expects PostgreSQL (DATABASE_URL=postgres://...): the embedded SQLite
# default (data/auth.db) is for local development only, and the root file system is
# meant to be read-only. Health: probe GET /readyz (GET /healthz for liveness) from
# the orchestrator; the image has no shell or curl for a HEALTHCHECK.

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
    go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
EXPOSE 3000
USER nonroot:nonroot
ENTRYPOINT ["/server"]
