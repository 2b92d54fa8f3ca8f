// Serves the web dashboard: the static files `vite build` wrote to web/dist,
// read once at start and kept in memory (with a gzip copy), so a page load
// costs no disk access. The dashboard talks to the same API as the CLI; it
// holds the API token in memory only, so nothing here knows about sessions.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where the web build puts the dashboard, from the repository root. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../web/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page may load only its own scripts and styles and talk only to this
 * hub; nothing may frame it. Inline scripts are refused (the build emits
 * none), which is what keeps an injected string from running.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer | undefined;
  etag: string;
  /** Hashed file names under assets/ never change, so browsers may keep them. */
  immutable: boolean;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** Reads every file of a built dashboard; an empty map when it was not built. */
export function loadDashboard(dir = DASHBOARD_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(join(dir, 'index.html'))) return assets;
  for (const path of walk(dir)) {
    const url = `/${relative(dir, path).split(sep).join('/')}`;
    const body = readFileSync(path);
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    const compressible = /text|json|svg/.test(type) && body.length > 1024;
    assets.set(url, {
      type, body,
      gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable: url.startsWith('/assets/'),
    });
  }
  return assets;
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Uplink</title></head>
<body><h1>The dashboard is not built</h1><p>This hub found no web/dist/index.html. Run <code>scripts/setup.sh</code>
(it runs the web build, <code>vite build</code> in <code>web/</code>), then restart the hub. The API, the agent endpoint
and the kubectl endpoint work without it.</p></body></html>`;

function send(req: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  void reply.headers(SECURITY_HEADERS).header('etag', asset.etag).type(asset.type)
    .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('vary', 'accept-encoding');
  if (req.headers['if-none-match'] === asset.etag) return reply.status(304).send();
  const gzip = asset.gzip !== undefined && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  if (gzip) void reply.header('content-encoding', 'gzip');
  return reply.send(gzip ? asset.gzip : asset.body);
}

/** GET / and the built files; a page explaining how to build when there is none. */
export function registerDashboard(app: FastifyInstance, assets = loadDashboard()): void {
  app.get('/', (req, reply) => {
    const index = assets.get('/index.html');
    if (index === undefined) return reply.status(503).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(NOT_BUILT);
    return send(req, reply, index);
  });
  for (const url of assets.keys()) {
    if (url === '/index.html') continue;
    app.get(url, (req, reply) => send(req, reply, assets.get(url) as Asset));
  }
}
