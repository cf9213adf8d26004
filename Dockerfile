# Passerelle: multi-stage image, production dependencies only, non-root.
# Built on the active Node LTS (24; Node 20 left support in April 2026). package.json's engines stay >=20.11:
# the code runs on 20 and 24 alike (the unit tests run on Node 24 with `npm run test:node24`).
#   docker build -t passerelle .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgres://... -e PASSERELLE_NIR_KEY=... passerelle
FROM node:24-bookworm-slim AS deps
WORKDIR /app
# ssh2's optional native crypto binding is compiled here (about 2x faster SFTP).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PASSERELLE_DATA_DIR=/var/lib/passerelle \
    PASSERELLE_HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
RUN groupadd --system passerelle \
 && useradd --system --gid passerelle --home-dir /var/lib/passerelle --shell /usr/sbin/nologin passerelle \
 && mkdir -p /var/lib/passerelle \
 && chown passerelle:passerelle /var/lib/passerelle
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY flows ./flows
COPY mappings ./mappings
USER passerelle
EXPOSE 8080
VOLUME ["/var/lib/passerelle"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# The launcher picks the V8 heap settings of the command (serve: 32 MB semi-spaces; the others: 4 MB) and execs node.
ENTRYPOINT ["/app/bin/passerelle"]
CMD ["serve"]
