# syntax=docker/dockerfile:1
# The container image of a release: the static musl executable with every phase name, a CA
# bundle and nothing else but a static busybox, because GitLab's Docker executor runs a job's
# script with the image's `sh` (an image without a shell fails with "shell not found").
# No ENTRYPOINT: a job's script lines are the phase names (`prepare-tenant --dotenv …`).
#
# Built by the release workflow from the archives of `cargo xtask dist` in dist/, verified
# against their .sha256 files (one archive per platform):
#   docker buildx build --platform linux/amd64,linux/arm64 .

# Unpacks on the build machine whatever the image's platform, so no emulation is needed.
FROM --platform=$BUILDPLATFORM busybox:1.37-musl AS unpack
ARG TARGETARCH
COPY dist/ /dist/
RUN set -eu; \
    case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-musl ;; \
      arm64) target=aarch64-unknown-linux-musl ;; \
      *) echo "no release archive for $TARGETARCH" >&2; exit 1 ;; \
    esac; \
    cd /dist; \
    sha256sum -c "aiven-azure-peering-$target.tar.gz.sha256"; \
    mkdir /unpacked; \
    tar -xzf "aiven-azure-peering-$target.tar.gz" -C /unpacked; \
    mv "/unpacked/aiven-azure-peering-$target" /release; \
    mkdir /documents; \
    mv /release/LICENSE-APACHE /release/LICENSE-MIT /release/README.md /documents/

FROM alpine:3.21 AS certificates

FROM busybox:1.37-musl
COPY --from=certificates /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# The executable and its phase names (links to it), exactly as the archive ships them.
COPY --from=unpack /release/ /usr/local/bin/
COPY --from=unpack /documents/ /usr/share/doc/aiven-azure-peering/
LABEL org.opencontainers.image.title="aiven-azure-peering" \
      org.opencontainers.image.description="Peer an Azure VNet with an Aiven project VPC from CI" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
