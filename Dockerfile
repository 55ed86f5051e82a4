# netanomaly scoring server: gRPC, gRPC-Web and Connect on one h2c port.
#
#   docker build -t netanomaly .
#   docker run --rm -p 50051:50051 netanomaly      # prints the API key it made
#   docker run --rm -p 50051:50051 -e API_KEYS="$NETANOMALY_API_KEY" netanomaly   # your own key
#   docker run --rm -p 50051:50051 -v "$PWD/keys:/run/keys:ro" -e API_KEYS_FILE=/run/keys/api-keys netanomaly
#   docker run --rm -p 50051:50051 -e API_KEYS="$NETANOMALY_API_KEY" -v "$PWD/models:/app/models:ro" netanomaly   # your own model
#
# The server listens on 0.0.0.0, where it requires API keys. Given none
# (API_KEYS, API_KEYS_FILE: a file of keys, one a line), the start command
# (deploy/entrypoint.ts) makes one and prints it once on stderr.
#
# Stage "build" compiles TypeScript to dist/ with the dev dependencies;
# stage "deps" installs production dependencies only; the runtime image
# holds dist/, those node_modules and the default model, and runs as an
# unprivileged user. No curl: the health check speaks gRPC health itself.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts are not needed (see allowScripts in package.json).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gen gen
COPY cli cli
COPY telemetry telemetry
COPY sources sources
COPY detector detector
COPY metrics metrics
COPY alerts alerts
COPY learning learning
COPY dashboard dashboard
COPY server server
COPY agent agent
COPY trainer trainer
COPY kafka kafka
COPY deploy/healthcheck.ts deploy/entrypoint.ts deploy/start-plan.ts deploy/tsconfig.json deploy/
RUN npx tsc -p tsconfig.build.json && npx tsc -p deploy/tsconfig.json
# The dashboard's page (--dashboard), bundled with esbuild, a dev dependency.
RUN node dist/dashboard/build-main.js

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NETANOMALY_PORT=50051 \
    NETANOMALY_MODEL=/app/models/default.model.json
WORKDIR /app
# package.json carries "type": "module", which dist/ needs.
COPY package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/dashboard/dist dashboard/dist
# The default model; mount a directory over /app/models to replace it.
COPY models/default.model.json models/default.model.json
# The base image's "node" user (uid 1000), numeric so that Kubernetes'
# runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/deploy/healthcheck.js"]
# The server drains on SIGTERM: health NOT_SERVING, streams end, then exit.
STOPSIGNAL SIGTERM
# The server (dist/server/main.js, same flags), with an API key made when
# none is given; see deploy/entrypoint.ts.
CMD ["node", "dist/deploy/entrypoint.js", "--host", "0.0.0.0"]
