// Validates every service's HTTP API description (services/*/openapi.yaml) as OpenAPI 3.x with
// @apidevtools/swagger-parser (schema and $ref resolution). Exits 1 on the first invalid file and
// when a service with an http.rs has no openapi.yaml. Run: npm ci --ignore-scripts && node openapi.mjs
import { readdir, access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';

const here = path.dirname(fileURLToPath(import.meta.url));
const services = path.resolve(here, '..', '..', '..', 'services');
const exists = (p) => access(p).then(() => true, () => false);
let failed = 0;
let checked = 0;
for (const name of (await readdir(services)).sort()) {
  const dir = path.join(services, name);
  const spec = path.join(dir, 'openapi.yaml');
  if (!(await exists(spec))) {
    if (await exists(path.join(dir, 'src', 'http.rs'))) {
      console.error(`${spec}: missing (the service has an HTTP API)`);
      failed++;
    }
    continue;
  }
  try {
    const api = await SwaggerParser.validate(spec);
    const paths = Object.keys(api.paths ?? {}).length;
    console.log(`${path.relative(process.cwd(), spec)}: valid OpenAPI ${api.openapi} — ${paths} paths`);
    checked++;
  } catch (e) {
    console.error(`${spec}: INVALID — ${e.message}`);
    failed++;
  }
}
if (failed > 0) process.exit(1);
console.log(`${checked} OpenAPI document(s) valid`);
