# syntax=docker/dockerfile:1
#
# Accord container images: one file, one target per binary.
#
#   docker build --target user     -t accord/user .
#   docker build --target server   -t accord/server .
#   docker build --target presence -t accord/presence .
#   docker build --target stats    -t accord/stats .
#   docker build --target search   -t accord/search .
#   docker build --target gateway  -t accord/gateway .    (with the web app)
#   docker build --target accord   -t accord/accord .     (all-in-one, embedded SQLite)
#
# docker-compose.yml builds the first six. Every Go binary is static
# (CGO_ENABLED=0: the embedded FerretDB uses pure-Go SQLite), runs as the
# distroless non-root user and checks its own health with "<binary> health".
# deploy/dockerfile_test.go checks that the paths below match the repository.

ARG GO_IMAGE=golang:1.26
ARG NODE_IMAGE=node:22-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# ---- Go: every binary, built once and shared by the runtime targets ----
FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
# The whole context (.dockerignore keeps out state, secrets and node_modules):
# go.work names every module, so each must be present. Listing them one by
# one here would break the image whenever a module is added; the cache
# mounts keep downloads and compiled packages between builds instead.
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/ \
      ./services/user/cmd/user \
      ./services/server/cmd/server \
      ./services/presence/cmd/presence \
      ./services/stats/cmd/stats \
      ./services/search/cmd/search \
      ./gateway/cmd/gateway \
      ./cmd/accord \
 && mkdir -p /out/data

# ---- Web app: static files served by the gateway ----
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---- Runtime base: no shell, no package manager, uid 65532 ----
FROM ${RUNTIME_IMAGE} AS runtime
# Numeric, so that runAsNonRoot-style checks can verify it.
USER 65532:65532
ENV ACCORD_LOG_FORMAT=json

FROM runtime AS user
COPY --from=build /out/user /usr/local/bin/user
EXPOSE 50051 9051
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/user", "health"]
ENTRYPOINT ["/usr/local/bin/user"]

FROM runtime AS server
COPY --from=build /out/server /usr/local/bin/server
EXPOSE 50052 9052
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/server", "health"]
ENTRYPOINT ["/usr/local/bin/server"]

FROM runtime AS presence
COPY --from=build /out/presence /usr/local/bin/presence
EXPOSE 50053 9053
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/presence", "health"]
ENTRYPOINT ["/usr/local/bin/presence"]

FROM runtime AS stats
COPY --from=build /out/stats /usr/local/bin/stats
EXPOSE 50054 9054
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/stats", "health"]
ENTRYPOINT ["/usr/local/bin/stats"]

# Search keeps its index on local disk: /data is a volume owned by the
# runtime user.
FROM runtime AS search
COPY --from=build /out/search /usr/local/bin/search
COPY --from=build --chown=65532:65532 /out/data /data
ENV ACCORD_DATA_DIR=/data
VOLUME /data
EXPOSE 50055 9055
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/search", "health"]
ENTRYPOINT ["/usr/local/bin/search"]

FROM runtime AS gateway
COPY --from=build /out/gateway /usr/local/bin/gateway
COPY --from=web /web/dist /srv/web
ENV ACCORD_WEB_DIR=/srv/web ACCORD_HTTP_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/gateway", "health"]
ENTRYPOINT ["/usr/local/bin/gateway"]

# All-in-one: every service, the gateway and the web app in one process, with
# the embedded FerretDB under /data unless ACCORD_MONGO_URI is set. For a
# trial or a small install; production uses docker-compose.yml.
FROM runtime AS accord
COPY --from=build /out/accord /usr/local/bin/accord
COPY --from=web /web/dist /srv/web
COPY --from=build --chown=65532:65532 /out/data /data
ENV ACCORD_WEB_DIR=/srv/web ACCORD_HTTP_ADDR=:8080 ACCORD_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/accord", "health"]
ENTRYPOINT ["/usr/local/bin/accord"]
