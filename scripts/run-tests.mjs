// Runs every compiled test file (dist/**/*.test.js) with node's built-in test runner.
// Node 20's `--test` takes no globs, so the list is built here. Extra args are passed through
// (e.g. `npm test -- --test-name-pattern=simulator`); a path argument narrows the files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
let files = [...walk('dist/src'), ...walk('dist/test')].sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
// Tests use private ledgers (memory, temp files, their own Postgres schema); one that writes the user's default
// ledger (.costgate/ledger.db in the working directory) is a defect.
const hadLedger = existsSync('.costgate');
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...flags, ...files], { stdio: 'inherit' });
if (!hadLedger && existsSync('.costgate')) {
  console.error('✖ a test wrote the default ledger (.costgate/ in the working directory); tests must use a private ledger');
  process.exit(1);
}
process.exit(r.status ?? 1);
