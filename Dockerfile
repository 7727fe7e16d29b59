# syntax=docker/dockerfile:1
#
# The dbt-crawler container: a static binary on distroless, running as a
# non-root user. Build with:
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t dbt-crawler .
#
# The image has no PostgreSQL binaries, so the embedded database is not
# available: set DATABASE_URL to a PostgreSQL server (docs/operations.md).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# The same command as a local build: one definition of how the binary is made.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    make build VERSION=$VERSION

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="dbt-crawler" \
      org.opencontainers.image.description="Crawls a dbt Cloud estate into a PostgreSQL catalog" \
      org.opencontainers.image.version="$VERSION"
COPY --from=build /src/bin/crawler /usr/local/bin/crawler
# distroless "nonroot" is uid/gid 65532; numeric so that Kubernetes
# runAsNonRoot can verify it.
USER 65532:65532
# Embedded state is not used in the container (DATABASE_URL is required);
# point the data directory at the writable /tmp volume anyway.
ENV CRAWLER_DATA_DIR=/tmp/dbt-crawler \
    CRAWLER_LISTEN=:8080 \
    CRAWLER_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/crawler"]
CMD ["schedule"]
