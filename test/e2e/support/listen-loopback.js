// Preloaded into the webhook process by the e2e suites (NODE_OPTIONS=--require ...): the server has
// no flag for its listen address (in a pod it listens on every interface), and the suites keep
// everything on 127.0.0.1. A listen() with a port and no host binds 127.0.0.1 instead of every
// interface; nothing else changes.
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number') {
    if (args.length === 1 || typeof args[1] === 'function') args.splice(1, 0, '127.0.0.1');
    else if (args[1] === undefined || args[1] === null || args[1] === '' || args[1] === '::' || args[1] === '0.0.0.0') args[1] = '127.0.0.1';
  }
  return listen.apply(this, args);
};
