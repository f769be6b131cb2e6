# oombot: a static Go binary on distroless, running as non-root.
#
#   docker build -t oombot:dev .
#
# The playbooks are embedded in the binary (playbooks/embed.go), so the image
# needs no files beside it; a ConfigMap mounted as a directory and named by
# the config's `playbooks.dir` replaces them at run time (deploy/).

# The builder's Go matches go.mod's `go` line: the image's GOTOOLCHAIN is
# local, so an older Go would refuse to build (the deploy test checks this).
FROM golang:1.26.8 AS build
WORKDIR /src
# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo: the SQLite driver is pure Go), reproducible paths,
# stripped. The deploy test runs this exact line.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/bot ./cmd/bot

# distroless/static: no shell, no package manager, CA certificates and
# tzdata only; the nonroot tag runs as 65532.
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="oombot" \
      org.opencontainers.image.description="Turns a Kubernetes OOMKilled or JVM OutOfMemoryError alert into a diagnosis that cites its evidence" \
      org.opencontainers.image.source="https://github.com/oombot/oombot" \
      org.opencontainers.image.vendor="oombot"
COPY --from=build /out/bot /bot
USER 65532:65532
ENTRYPOINT ["/bot"]
CMD ["serve", "--config", "/etc/oombot/config.yaml"]
