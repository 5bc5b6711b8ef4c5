# The AI Dev Gateway image. Build: docker build -t ai-dev-gateway:1.0.0 .
# npm -g puts the opencode binary at /usr/local/bin/opencode, the configuration's opencode.cli_path.
# Stage 1 compiles TypeScript (and fs-ext's native addon); stage 2 carries only what runs.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY projections ./projections
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/* \
 && npm install -g --no-audit --no-fund opencode-ai@1.18.33 \
 && mkdir -p /workspace /var/lib/gateway && chown node:node /workspace /var/lib/gateway
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node config ./config
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    GATEWAY_CONFIG=/app/config/backend.yaml \
    GATEWAY_DATA_DIR=/var/lib/gateway \
    GATEWAY_WORKSPACE=/workspace
USER node
EXPOSE 8000
# The gateway's own state, and the workspace it shares with the agent (k8s/ mounts them apart).
VOLUME ["/var/lib/gateway", "/workspace"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--max-semi-space-size=64", "dist/src/main.js"]
