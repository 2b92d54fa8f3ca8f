// Serves the files directly inside one directory over HTTP on 127.0.0.1, for
// the demo's chart repository (index.yaml and chart archives from `helm
// package` and `helm repo index`). Usage: node test/cluster/serve-dir.ts DIR PORT
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const [dir, port] = process.argv.slice(2);
if (dir === undefined || port === undefined) {
  console.error('usage: node test/cluster/serve-dir.ts DIR PORT');
  process.exit(2);
}
/** Plain file names only: no path separators, no leading dot. */
const FILE_NAME = /^[\w][\w.+-]*$/;

createServer((req, res) => {
  const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
  const file = join(dir, name);
  const stat = FILE_NAME.test(name) ? statSync(file, { throwIfNoEntry: false }) : undefined;
  if (req.method !== 'GET' || !stat?.isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': name.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip', 'content-length': stat.size });
  createReadStream(file).pipe(res);
}).listen(Number(port), '127.0.0.1', () => { console.log(`serving ${dir} on http://127.0.0.1:${port}`); });
