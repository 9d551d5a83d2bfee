# syntax=docker/dockerfile:1
# The dimctl container image: built from source in a Rust stage (the release profile in
# Cargo.toml), then only the binary on a minimal glibc base (distroless cc: no shell, no
# package manager), running as the unprivileged `nonroot` user (uid 65532).
#
#   docker build -t dimctl .
#   docker run --rm -v "$PWD:/work" --user "$(id -u):$(id -g)" dimctl plan --sandbox
#
# (--user lets the container write plan.json and .dimctl/ into a mounted repository owned
# by you.)

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Cargo.toml names the bench targets, so their sources must be present to build.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin dimctl

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/dimctl /usr/local/bin/dimctl
USER nonroot:nonroot
WORKDIR /work
ENTRYPOINT ["dimctl"]
CMD ["--help"]
