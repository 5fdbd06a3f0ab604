# The gateway image the Helm chart (deploy/helm/wattline) runs: `docker build -t wattline:0.1.0 .`
# Not built by the test suite (no Docker engine there); the chart's rendering and config are tested.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/wattline/package.json packages/wattline/
COPY packages/dashboard/package.json packages/dashboard/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build -w @wattline/dashboard && mkdir -p /var/lib/wattline && chown 1000:1000 /var/lib/wattline
USER 1000
EXPOSE 8080
ENTRYPOINT ["node", "packages/wattline/bin/wattline.mjs"]
CMD ["serve", "--config", "/etc/wattline/wattline.yaml"]
