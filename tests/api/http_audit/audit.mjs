// GraphQL-over-HTTP compliance: runs graphql-http's server audits (the spec's MUST, SHOULD and
// MAY checks) against a live server and prints their results as one JSON array on stdout.
//
//   node audit.mjs <graphql url> [<folder whose node_modules holds graphql-http>]
//
// The folder defaults to this one; tests/api/test_graphql_http_audit.py installs the locked
// packages into a cache folder outside the repository and passes that.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [url, installed = dirname(fileURLToPath(import.meta.url))] = process.argv.slice(2);
if (!url) {
  console.error('usage: node audit.mjs <graphql url> [<install folder>]');
  process.exit(2);
}
const require = createRequire(join(resolve(installed), 'package.json'));
const { serverAudits } = require('graphql-http');

const results = [];
// One at a time: the audits are few and small, and parallel requests would only add noise.
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const level = audit.name.split(' ', 1)[0]; // names start with MUST, SHOULD or MAY
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // An audit throws only on a fatal problem (the connection failed, ...): report it as failed.
    result = { id: audit.id, name: audit.name, status: 'error', reason: String(err) };
  }
  const out = { id: audit.id, name: audit.name, level, status: result.status };
  if (result.status !== 'ok') {
    out.reason = result.reason;
    const res = result.response;
    if (res) {
      out.httpStatus = res.status;
      out.contentType = res.headers.get('content-type');
      out.body = res.bodyUsed ? null : (await res.text()).slice(0, 500);
    }
  }
  results.push(out);
}
process.stdout.write(`${JSON.stringify(results)}\n`);
