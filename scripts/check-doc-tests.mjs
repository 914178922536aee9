// Every test that docs/ASVS.md names as evidence must exist, under exactly that name: a renamed
// or deleted test would otherwise leave a security claim pointing at nothing. Lists the test
// names with `vitest list` (it collects the files, runs nothing) and compares.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const docs = ['docs/ASVS.md'];
const dir = mkdtempSync(join(tmpdir(), 'tessera-doc-tests-'));
const listing = join(dir, 'tests.json');
try {
  execFileSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'list', `--json=${listing}`], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const names = new Set(
    JSON.parse(readFileSync(listing, 'utf8')).map((test) => `${relative(root, test.file)} › ${test.name.replaceAll(' > ', ' › ')}`),
  );
  let missing = 0;
  let total = 0;
  for (const doc of docs) {
    const text = readFileSync(join(root, doc), 'utf8');
    for (const [, reference] of text.matchAll(/`(test\/[^`]+? › [^`]+)`/g)) {
      total += 1;
      if (!names.has(reference)) {
        missing += 1;
        console.error(`${doc}: no test named "${reference}"`);
      }
    }
  }
  if (missing > 0) {
    console.error(`check-doc-tests: ${missing} of ${total} test references point at no test`);
    process.exit(1);
  }
  console.log(`check-doc-tests: all ${total} test references in ${docs.join(', ')} name existing tests`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
