# kvsync as a container image for CI systems that run jobs in images
# (GitLab's image:, Jenkins, Tekton): a static binary on Alpine, with what
# the example jobs use beside it (bash, git, curl, jq),
# run as a non-root user.
#
#   docker build --build-arg VERSION=v1.2.3 -t kvsync:v1.2.3 .
#   docker run --rm kvsync:v1.2.3 kvsync version
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/kvsync ./cmd/kvsync

FROM alpine:3.22
RUN apk add --no-cache bash ca-certificates curl git jq \
 && adduser -D -H -u 10001 kvsync
COPY --from=build /out/kvsync /usr/local/bin/kvsync
USER 10001:10001
CMD ["kvsync", "--help"]
