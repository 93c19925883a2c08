// Validates shared/contracts/asyncapi.yaml (or the file given as the first argument):
//  1. as an AsyncAPI 3 document, with the official parser (schema, references, its ruleset);
//  2. every message example against that message's payload schema (JSON Schema draft-07 via Ajv),
//     which the parser does not do for AsyncAPI 3.
// Prints every diagnostic; exits 1 on any error. Run: npm ci --ignore-scripts && node check.mjs
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const here = path.dirname(fileURLToPath(import.meta.url));
const file = path.resolve(process.argv[2] ?? path.join(here, '..', 'asyncapi.yaml'));
const severityName = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const { document, diagnostics } = await new Parser().parse(await readFile(file, 'utf8'), { source: file });
for (const d of diagnostics) {
  const line = d.range?.start ? `:${d.range.start.line + 1}` : '';
  console.log(`${severityName[d.severity]} ${d.code} ${d.path.join('.')}${line}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (document === undefined || errors.length > 0) {
  console.error(`${file}: INVALID (${errors.length} error(s))`);
  process.exit(1);
}
if (!document.version().startsWith('3.')) {
  console.error(`${file}: expected AsyncAPI 3, found ${document.version()}`);
  process.exit(1);
}

// strict: false because the parser annotates schemas with x-parser-* keywords.
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
let exampleErrors = 0;
let examples = 0;
for (const message of document.components().messages().all()) {
  const validate = ajv.compile(message.payload().json());
  const messageExamples = message.examples().all();
  if (messageExamples.length === 0) {
    console.log(`error message ${message.id()}: has no example`);
    exampleErrors += 1;
  }
  for (const example of messageExamples) {
    examples += 1;
    if (!validate(example.payload())) {
      for (const e of validate.errors) {
        console.log(`error example ${message.id()}/${example.name()} ${e.instancePath || '/'}: ${e.message}`);
      }
      exampleErrors += 1;
    }
  }
}
if (exampleErrors > 0) {
  console.error(`${file}: INVALID (${exampleErrors} example(s) do not match their payload schema)`);
  process.exit(1);
}
console.log(
  `${file}: valid AsyncAPI ${document.version()} — ${document.channels().length} channels, ` +
    `${document.operations().length} operations, ${document.components().messages().length} messages, ` +
    `${examples} examples valid against their schemas (${diagnostics.length} non-error diagnostics)`,
);
