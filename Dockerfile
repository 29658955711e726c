# fleet as a container image: for CI jobs (`fleet validate`, `fleet plan`, `fleet apply`) and
# for running `fleet watch` (docs/install.md, docs/watch.md "Running it").
#
#   docker build --build-arg FLEET_BUILD_COMMIT="$(git rev-parse HEAD)" -t fleet .
#   docker run --rm -v "$PWD:/work" -w /work fleet validate
#
# Two stages: the Rust toolchain builds the release binary (OpenSSL, libgit2, libssh2 and zlib
# compiled in, so it needs only glibc), then a small glibc base gets the binary, CA
# certificates and a home for a non-root user. The final stage has no RUN, so any glibc base
# works, one without a shell included (gcr.io/distroless/cc-debian12); a CI job image needs a
# shell, hence the default.
#
# Build arguments:
#   BUILDER  the Rust toolchain image (perl and make needed, for OpenSSL; lld installed if missing)
#   BASE     the runtime base: glibc (libc, libm, libgcc_s) is all the binary needs
#   BINARY   where the /out tree comes from: the `builder` stage, or an image that already
#            holds /out (a binary built elsewhere; tests/testbed_image.rs uses one). Needs
#            BuildKit, which builds only the stages the image uses.
#   FLEET_BUILD_COMMIT  the commit `fleet version` reports (.git is not in the context)
ARG BUILDER=rust:1-bookworm
ARG BASE=debian:bookworm-slim
ARG BINARY=builder

FROM ${BUILDER} AS builder
ARG FLEET_BUILD_COMMIT=
WORKDIR /src
COPY . .
# lld folds identical functions (build.rs): the binary stays under 15 MB.
RUN (command -v ld.lld >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends lld)) \
    && cargo build --release --locked --bin fleet \
    && install -D -m 0755 target/release/fleet /out/usr/local/bin/fleet \
    && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt \
    && install -d -m 0755 /out/home/fleet \
    && printf '[safe]\n\tdirectory = *\n' > /out/home/fleet/.gitconfig

FROM ${BINARY} AS binary

FROM ${BASE}
COPY --from=binary /out/usr/local/bin/fleet /usr/local/bin/fleet
# For `--repo https://...` mirrors (vendored OpenSSL reads SSL_CERT_FILE; a base without
# ca-certificates has none). Webhook notifications carry their own roots.
COPY --from=binary /out/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# The user's home: ~/.ssh (mount known_hosts and the key there), ~/.cache/fleet (mirrors of
# --repo URLs), and a git config that trusts a mounted repository owned by another user (a
# CI workspace): fleet reads repositories, it never runs their hooks.
COPY --from=binary --chown=10001:10001 /out/home/fleet /home/fleet
ENV HOME=/home/fleet \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 10001:10001
WORKDIR /home/fleet
ENTRYPOINT ["fleet"]
CMD ["--help"]
