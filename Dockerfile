# Container image for kringloop.
#
# Build and run the whole stack (kringloop + PostgreSQL + Mailpit) with
#     docker compose up --build
# then open http://localhost:8080/docs (API docs) and http://localhost:8025 (mail UI).
# Create a broker account with
#     docker compose exec kringloop kringloop create-broker --email broker@example.org --password-stdin
# (type the password and press Enter), or non-interactively:
#     printf '%s\n' 'a-long-password' | docker compose exec -T kringloop kringloop create-broker --email broker@example.org --password-stdin
#
# The image needs DATABASE_URL to point at a PostgreSQL server; it does not run its own.

# ---- build stage -------------------------------------------------------------
FROM rust:1.95.0-bookworm AS build
WORKDIR /src

# Everything the build reads, and nothing else: the manifest declares a bench (so its file
# must exist), build.rs embeds migrations/, and the mail and page templates and the pages'
# assets (assets/, with the vendored Leaflet and ECharts) are compiled in with include_str!
# and include_bytes!. .ci/run builds from exactly the files these COPY lines name, so a file
# missing here fails CI rather than the first `docker compose up --build`.
COPY Cargo.toml Cargo.lock build.rs ./
COPY benches ./benches
COPY migrations ./migrations
COPY templates ./templates
COPY assets ./assets
COPY src ./src
# BuildKit cache mounts keep the registry and the compiled dependencies between builds, so a
# change to the sources rebuilds only the kringloop crate. The binary is copied out in the
# same step because the cached target folder is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && cp target/release/kringloop /usr/local/bin/kringloop

# ---- runtime stage -----------------------------------------------------------
FROM debian:12.12-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 kringloop \
    && useradd --system --uid 10001 --gid kringloop \
        --home-dir /var/lib/kringloop --no-create-home --shell /usr/sbin/nologin kringloop \
    && mkdir -p /var/lib/kringloop \
    && chown kringloop:kringloop /var/lib/kringloop

COPY --from=build /usr/local/bin/kringloop /usr/local/bin/kringloop

ENV KRINGLOOP_BIND=0.0.0.0:8080 \
    KRINGLOOP_DATA_DIR=/var/lib/kringloop \
    KRINGLOOP_LOG_FORMAT=json \
    RUST_LOG=info

VOLUME ["/var/lib/kringloop"]
WORKDIR /var/lib/kringloop
USER kringloop:kringloop
EXPOSE 8080

# Liveness only; docker-compose.yml checks /readyz (database reachable and migrated).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS http://localhost:8080/healthz || exit 1

ENTRYPOINT ["kringloop"]
CMD ["serve"]
