/**
 * nginx as the reference reverse proxy: a generated config in a temp dir, one worker process
 * (`master_process off`) or, for `bench:gateway --workers N`, a master and N workers, HTTP/1.1 keep-alive to the upstream, buffering off so SSE passes through
 * chunk by chunk as it does through Wattline, no access log. Listens on 127.0.0.1 only.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pinned, start, type Started } from './processes.ts'

/** The nginx.conf for a loopback proxy to `upstreamPort` with `workers` worker processes. */
export function nginxConfig(dir: string, port: number, upstreamPort: number, workers = 1): string {
  return `worker_processes ${String(workers)};
${workers === 1 ? 'master_process off;\n' : ''}daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream fast { server 127.0.0.1:${String(upstreamPort)}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${String(port)};
    location / {
      proxy_pass http://fast;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`
}

/** Starts nginx pinned to `cpus`, with `workers` worker processes (1: no master). */
export function startNginx(
  dir: string,
  port: number,
  upstreamPort: number,
  cpus?: string,
  workers = 1,
): Started {
  mkdirSync(dir, { recursive: true })
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, nginxConfig(dir, port, upstreamPort, workers))
  return start(pinned(cpus, ['nginx', '-p', dir, '-c', conf]))
}
