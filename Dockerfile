# bongsu in a container: built from source in one stage, run from a small one.
#
#   docker build -t bongsu .
#   docker run -p 9090:9090 -v bongsu-data:/prometheus bongsu
#
# The web UI's bundle is committed (web/dist), so the build needs no Node.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# No debug info in the image's binary: it is for running, not profiling.
RUN CARGO_PROFILE_RELEASE_DEBUG=0 cargo build --release --locked --bin bongsu \
    && strip target/release/bongsu

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /prometheus /etc/bongsu \
    && chown nobody:nogroup /prometheus
COPY --from=build /src/target/release/bongsu /bin/bongsu
COPY deploy/prometheus.yml /etc/bongsu/prometheus.yml
# As Prometheus' image: nobody (uid 65534), data in /prometheus, configuration in /etc.
USER nobody
WORKDIR /prometheus
VOLUME ["/prometheus"]
EXPOSE 9090
ENTRYPOINT ["/bin/bongsu"]
CMD ["--config.file=/etc/bongsu/prometheus.yml", "--storage.tsdb.path=/prometheus"]
