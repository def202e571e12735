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
FROM rust:1-bookworm AS build
WORKDIR /src

# Dependency-caching layer: build all dependencies against dummy sources, so
# this layer is reused as long as Cargo.toml and Cargo.lock do not change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# The real sources. build.rs and migrations/ are needed: the SQL migrations are
# embedded into the binary at compile time.
COPY build.rs ./
COPY migrations ./migrations
COPY src ./src
# COPY keeps the files' original timestamps, which may be older than the dummy
# build's; touch them so cargo surely rebuilds the kringloop crate itself.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && cp target/release/kringloop /usr/local/bin/kringloop

# ---- runtime stage -----------------------------------------------------------
FROM debian:bookworm-slim

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
