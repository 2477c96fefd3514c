'use strict';
/**
 * The floor `cdk8s-shm inject` is measured against: the same `yaml` library, with the same parse
 * options (YAML 1.1, merge keys) and print options, parses every document of the file and prints
 * it again, a document at a time, and writes the stream once it has read all of it (as inject
 * does, so that broken input yields no output). It plans nothing, patches nothing and copies
 * nothing verbatim: whatever inject costs beyond this is its own work.
 *
 * Usage: node bench/inject-floor.js FILE > OUT
 */
const { readFileSync } = require('node:fs');
const { Composer, Parser } = require('yaml');

const text = readFileSync(process.argv[2], 'utf8');
const composer = new Composer({ version: '1.1', merge: true, prettyErrors: false });
const parts = [];
const print = docs => {
  for (const doc of docs) {
    if (doc.errors.length > 0) throw doc.errors[0];
    parts.push(doc.toString({ lineWidth: 0, flowCollectionPadding: false }));
  }
};
for (const token of new Parser().parse(text)) print(composer.next(token));
print(composer.end(false, text.length));
process.stdout.write(parts.join(''));
