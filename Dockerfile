# The example server (`make run`, i.e. `grpc-azure-auth serve`) as a static,
# non-root image. Build: docker build -t grpc-azure-auth .
# There is no container runtime on the development machine: `make test`
# checks what can be checked without one (a static CGO_ENABLED=0 build of
# the same command, and deploy/'s test reads this file and the manifests).

# Build stage: the Go version of go.mod's toolchain line.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Dependencies first, so that source edits reuse the module layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo, no libc), reproducible (-trimpath), without VCS stamping
# (.git is not copied in).
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags='-s -w' \
      -o /out/grpc-azure-auth ./cmd/grpc-azure-auth

# Run stage: distroless static has CA certificates (for HTTPS to Entra ID),
# tzdata and /etc/passwd with the nonroot user, and no shell or package
# manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/grpc-azure-auth /usr/local/bin/grpc-azure-auth
# nonroot (65532); numeric so that runAsNonRoot can verify it.
USER 65532:65532
# Listen on every interface in the container. With a tenant the server
# refuses plaintext off loopback: mount a certificate (TLS_CERT_FILE,
# TLS_KEY_FILE) or set INSECURE_PLAINTEXT=true behind a TLS-terminating
# proxy. Metrics are served on their own port. See deploy/README.md.
ENV GRPC_ADDR=:50051 \
    HTTP_ADDR=:8000 \
    METRICS_ADDR=:9090
EXPOSE 50051 8000 9090
# No arguments: it serves, as any server.Main program does, with the
# settings of the environment.
ENTRYPOINT ["/usr/local/bin/grpc-azure-auth"]
