# Recoup worker and API image. TypeScript runs through tsx at start-up; the one build step is the
# workflow bundle (npm run build:workflows), which the worker loads instead of bundling at every start.
#   docker build -t recoup .
#   docker run recoup                                   # worker + API (worker/start.ts)
#   docker run recoup node_modules/.bin/tsx worker/main.ts   # worker alone (what docker-compose.yml does)
#   docker run recoup node_modules/.bin/tsx api/main.ts      # API alone

ARG NODE_IMAGE=node:20-bookworm-slim

# --- dependencies: exactly what package-lock.json pins, without the test tooling ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# tsx is a runtime dependency; vitest, typescript and @temporalio/testing are not needed here.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# The worker's memory (docs/operations.md, "Sizing"): V8's main heap and young generation bounded, two
# glibc malloc arenas instead of one per thread. The workflow threads' heaps: RECOUP_WORKFLOW_HEAP_MB.
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=4" MALLOC_ARENA_MAX=2
WORKDIR /app
# Files stay owned by root: the node user reads the code, it never rewrites it.
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# The workflow bundle for these sources, in .build/ (NODE_ENV=production: the worker loads it; the node
# user could not write it at start-up).
RUN node_modules/.bin/tsx scripts/build-workflows.ts
# Where the payload key ring lives (RECOUP_CODEC_KEYS_FILE); a named volume mounted here starts owned by node.
RUN mkdir /keys && chown node:node /keys && chmod 700 /keys
USER node
EXPOSE 3000
CMD ["node_modules/.bin/tsx", "worker/start.ts"]
