#!/usr/bin/env node
'use strict';
// The compiled command line (npm run build writes dist/).
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => { console.error(`stylegraph: ${error?.message ?? error}`); process.exitCode = 1; },
);
