# netanomaly scoring server: gRPC, gRPC-Web and Connect on one h2c port.
#
#   docker build -t netanomaly .
#   docker run --rm -p 50051:50051 netanomaly
#   docker run --rm -p 50051:50051 -v "$PWD/models:/app/models:ro" netanomaly   # your own model
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
COPY server server
COPY agent agent
COPY trainer trainer
COPY deploy/healthcheck.ts deploy/tsconfig.json deploy/
RUN npx tsc -p tsconfig.build.json && npx tsc -p deploy/tsconfig.json

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
CMD ["node", "dist/server/main.js", "--host", "0.0.0.0"]
