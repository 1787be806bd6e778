// stix_schema.js - checks a STIX 2.1 bundle against the OASIS JSON schemas
// (draft 2020-12, with ajv) and against the rules of the specification that
// the schemas leave out.  Prints TAP lines numbered from FIRST; the caller
// prints the plan.  Exit status 1 if any check failed.
//
// usage: node stix_schema.js SCHEMA_DIR BUNDLE FIRST
//
// ajv and ajv-formats are loaded from tests/js/node_modules (pinned by
// tests/js/package-lock.json; `npm ci --prefix tests/js` installs them).
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const jsRequire = createRequire(path.join(__dirname, '..', 'js', 'package.json'));
const Ajv2020 = jsRequire('ajv/dist/2020');
const addFormats = jsRequire('ajv-formats');

const [schemaDir, bundlePath, firstArg] = process.argv.slice(2);
let n = Number(firstArg || 1) - 1;
let failed = 0;

function check(cond, what, detail) {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${what}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${what}`);
    if (detail)
      for (const line of String(detail).split('\n').slice(0, 20))
        console.log(`#   ${line}`);
  }
}

// every schema file, registered under its $id so that relative $refs
// resolve; the OASIS patterns escape '-' outside classes ("\\-"), which
// is an error in a Unicode-mode RegExp, so patterns are compiled without
// the u flag
const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false });
addFormats(ajv);
// ajv-formats has no idn-hostname (only the domain-name SCO schema uses it,
// and bulwark exports no SCOs): a label check is enough here
ajv.addFormat('idn-hostname', /^[^\s.\u0000-\u001f]+(\.[^\s.\u0000-\u001f]+)*\.?$/);
const byFile = {};
for (const sub of fs.readdirSync(schemaDir)) {
  const dir = path.join(schemaDir, sub);
  if (!fs.statSync(dir).isDirectory()) continue;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const schema = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    ajv.addSchema(schema);
    byFile[`${sub}/${f}`] = schema.$id;
  }
}

function validator(file) {
  return ajv.getSchema(byFile[file]);
}

function errors(v) {
  return ajv.errorsText(v.errors, { separator: '\n' });
}

const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
const objects = bundle.objects || [];
const vb = validator('common/bundle.json');
check(vb(bundle), `bundle validates against common/bundle.json (${objects.length} objects)`,
  vb.errors && errors(vb));

// each object against the schema of its type
const counts = {};
for (const o of objects) {
  const file = o.type === 'relationship' || o.type === 'sighting' ? `sros/${o.type}.json`
    : o.type === 'marking-definition' ? 'common/marking-definition.json'
    : byFile[`sdos/${o.type}.json`] ? `sdos/${o.type}.json`
    : `observables/${o.type}.json`;
  const v = validator(file);
  counts[o.type] = (counts[o.type] || 0) + 1;
  if (!v) {
    check(false, `${o.id}: no schema for type ${o.type}`);
    continue;
  }
  check(v(o), `${o.id} validates against ${file}`, v.errors && errors(v));
}

// what the schemas cannot say
const ids = new Map(objects.map((o) => [o.id, o]));
check(ids.size === objects.length, 'object ids are unique');
const problems = [];
for (const o of objects) {
  if (o.created && o.modified && o.modified < o.created)
    problems.push(`${o.id}: modified before created`);
  if (o.valid_from && o.valid_until && !(Date.parse(o.valid_until) > Date.parse(o.valid_from)))
    problems.push(`${o.id}: valid_until not later than valid_from`);
  for (const ref of [o.created_by_ref, o.source_ref, o.target_ref, ...(o.object_marking_refs || [])])
    if (ref && !ids.has(ref))
      problems.push(`${o.id}: ${ref} is not in the bundle`);
}
check(problems.length === 0, 'times are ordered and every reference resolves in the bundle',
  problems.join('\n'));

// the TLP 2.0 marking definitions, exactly as the extension publishes them
const TLP2_EXT = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';
const TLP2 = {
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': ['TLP:CLEAR', 'clear'],
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': ['TLP:GREEN', 'green'],
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': ['TLP:AMBER', 'amber'],
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': ['TLP:AMBER+STRICT', 'amber+strict'],
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': ['TLP:RED', 'red'],
};
const referenced = new Set();
for (const o of objects)
  for (const ref of o.object_marking_refs || []) referenced.add(ref);
check(referenced.size > 0, `the bundle references ${referenced.size} marking definitions`);
for (const ref of [...referenced].sort()) {
  const m = ids.get(ref);
  const want = TLP2[ref];
  const got = m && JSON.stringify({
    type: m.type, spec_version: m.spec_version, id: m.id, created: m.created, name: m.name,
    extensions: m.extensions, keys: Object.keys(m).sort(),
  });
  const expect = want && JSON.stringify({
    type: 'marking-definition', spec_version: '2.1', id: ref, created: '2022-10-01T00:00:00.000Z',
    name: want[0],
    extensions: { [TLP2_EXT]: { extension_type: 'property-extension', tlp_2_0: want[1] } },
    keys: ['created', 'extensions', 'id', 'name', 'spec_version', 'type'],
  });
  check(want && got === expect, `${ref} is the TLP 2.0 ${want ? want[0] : '(unknown)'} marking definition`,
    `got:  ${got}\nwant: ${expect}`);
}

console.log(`# objects by type: ${JSON.stringify(counts)}`);
process.exit(failed ? 1 : 0);
