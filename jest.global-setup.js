// Jest's globalSetup runs outside the test module registry: no moduleNameMapper. Map the
// workspace aliases (@tributary/<lib> → libs/<lib>/src/index.ts) for it here.
const Module = require('node:module');
const path = require('node:path');

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const alias = /^@tributary\/([a-z-]+)$/.exec(request);
  return alias
    ? resolve.call(this, path.join(__dirname, 'libs', alias[1], 'src', 'index.ts'), ...rest)
    : resolve.call(this, request, ...rest);
};

module.exports = require('./libs/testing/src/jest-global-setup.ts').default;
