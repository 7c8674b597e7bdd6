// Hash of every input of the build (sources, configuration, lockfile), kept
// in dist/source-hash.txt by `npm run build`. console/sourcehash_test.go
// computes the same hash in Go, so `go test ./console/` fails when a source
// changed and dist/ was not rebuilt, even on a machine without Node.
//
//   node scripts/source-hash.mjs write [dir]  record the hash of the current sources in dir (dist)
//   node scripts/source-hash.mjs check [dir]  exit 1 when dir (dist) does not match
//   node scripts/source-hash.mjs         print it
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// Keep in step with sourceInputs in sourcehash_test.go.
export const inputs = ['index.html', 'package.json', 'package-lock.json', 'tsconfig.json', 'vite.config.ts', 'src', 'public'];

function walk(path, out) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) walk(join(path, name), out);
  } else {
    out.push(relative(root, path).split(sep).join('/'));
  }
}

export function sourceHash() {
  const files = [];
  for (const input of inputs) {
    const p = join(root, input);
    if (existsSync(p)) walk(p, files);
  }
  files.sort();
  const h = createHash('sha256');
  for (const f of files) {
    const fh = createHash('sha256').update(readFileSync(join(root, f))).digest('hex');
    h.update(`${f}\0${fh}\n`);
  }
  return h.digest('hex');
}

const mode = process.argv[2];
const file = join(process.argv[3] ?? join(root, 'dist'), 'source-hash.txt');
if (mode === 'write') {
  writeFileSync(file, sourceHash() + '\n');
} else if (mode === 'check') {
  const want = sourceHash();
  const got = existsSync(file) ? readFileSync(file, 'utf8').trim() : '(missing)';
  if (got !== want) {
    console.error(`console/dist is stale: built from ${got}, sources are ${want}; run npm run build in console/`);
    process.exit(1);
  }
} else {
  console.log(sourceHash());
}
