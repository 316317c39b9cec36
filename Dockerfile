# clusterd on the CPU: one static binary on a minimal base image.
#
#   docker build -t clusterd .
#   docker run -p 8080:8080 -v clusterd-data:/data clusterd
#
# The image holds clusterd alone (no shell, no package manager): the
# distroless "static" base brings CA certificates (for an LLM labeler or
# object storage over HTTPS) and runs as an unprivileged user; the time-zone
# database is compiled in (-tags timetzdata) for triggers' cron time zones.
# For GPUs use Dockerfile.cuda, which adds the clusterd-gpu worker.
# Configuration is by CLUSTERD_* environment variables (clusterd serve -h);
# the compose file next to this one runs several processes on one database.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
ENV GOFLAGS=-trimpath CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -tags timetzdata -ldflags='-s -w' -o /out/clusterd ./cmd/clusterd \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/clusterd /usr/local/bin/clusterd
# The data directory belongs to the image's user (nonroot, uid 65532), so a
# named volume mounted there starts writable.
COPY --from=build --chown=65532:65532 /out/data /data
ENV CLUSTERD_ADDR=0.0.0.0:8080 \
    CLUSTERD_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["clusterd"]
CMD ["serve"]
