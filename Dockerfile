# The Grapevine relay in a container: `grapevine relay` from the package built here.
#   docker build -t grapevine-relay .
#   docker run -p 8787:8787 -e GRAPEVINE_NETWORK=lobby grapevine-relay
# Every setting is a GRAPEVINE_* variable (docker run --rm grapevine-relay ./node_modules/.bin/grapevine relay --help);
# with PORT set the relay listens on 0.0.0.0. Two relays peering each other: compose.yaml.
# The build uses relative paths in its RUN steps, so CI runs the same steps in a clean directory
# (test/pack/dockerfile.mjs) where no Docker daemon is available.

FROM node:20-slim AS build
WORKDIR /build
COPY . .
# The package as npm would ship it: dependencies from the lockfile, dist/ built, one tarball.
RUN npm ci --no-audit --no-fund && npm pack --silent && mv grapevine-*.tgz grapevine.tgz

FROM node:20-slim
WORKDIR /app
COPY --from=build /build/grapevine.tgz ./grapevine.tgz
# Installed from the tarball into an empty project, with its dependencies only.
RUN npm init -y >/dev/null && npm install --omit=dev --no-audit --no-fund ./grapevine.tgz && rm grapevine.tgz
ENV NODE_ENV=production PORT=8787
EXPOSE 8787
USER node
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The command itself as PID 1 (not npx, which does not pass SIGTERM on): docker stop closes the relay cleanly.
CMD ["./node_modules/.bin/grapevine", "relay"]
