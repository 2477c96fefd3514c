// Lets the examples import the packages by their names, as an app does, when they run from the
// repository through ts-node: the name means the sources. (The type checker reads the same from
// the `paths` of examples/tsconfig.json, and jest from its moduleNameMapper: .projenrc.ts.)
const Module = require('module');
const path = require('path');

const SOURCES = {
  'cdk8s-shm': path.join(__dirname, '..', 'src', 'index.ts'),
  'cdk8s-shm-plus-28': path.join(__dirname, '..', 'packages', 'cdk8s-shm-plus-28', 'src', 'index.ts'),
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return Object.prototype.hasOwnProperty.call(SOURCES, request) ? SOURCES[request] : resolve.call(this, request, ...rest);
};
