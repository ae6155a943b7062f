// The embedded vector store's worker thread (see threaded-embedded-vector-store.ts). Plain CommonJS,
// so that it loads the same way everywhere: from the build, the compiled module beside it; from
// the source tree (tests, development runs, benches), the TypeScript module through
// @swc-node/register, the loader scripts/run-ts.mjs uses (jest's transform does not reach threads).
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, 'threaded-embedded-vector-store.js');
if (existsSync(compiled)) {
  require(compiled).runStoreThread();
} else {
  process.env.SWC_NODE_PROJECT ??= path.resolve(__dirname, '../../../../tsconfig.json');
  require('@swc-node/register');
  require('./threaded-embedded-vector-store.ts').runStoreThread();
}
