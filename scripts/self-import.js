// Lets the examples import the package by its name, as an app does, when they run from the
// repository through ts-node: the name means the sources. (The type checker reads the same from
// the `paths` of examples/tsconfig.json, and jest from its moduleNameMapper: .projenrc.ts.)
const Module = require('module');
const path = require('path');

const SOURCES = {
  'cdk8s-shm': path.join(__dirname, '..', 'src', 'index.ts'),
  'cdk8s-shm/cdk8s-plus-28': path.join(__dirname, '..', 'src', 'constructs', 'sizing', 'shared-memory-deployment.ts'),
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return Object.prototype.hasOwnProperty.call(SOURCES, request) ? SOURCES[request] : resolve.call(this, request, ...rest);
};
