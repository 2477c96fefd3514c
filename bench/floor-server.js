'use strict';
/**
 * The floor the webhook is measured against: a bare Node HTTPS server that reads the body, parses
 * the same AdmissionReview and answers a fixed "allowed" response (echoing the uid, without which no
 * API server would accept it). Whatever the webhook costs beyond this is the webhook's own work.
 *
 * It runs as its own `node` process, like the bundle, with the same certificate, the same TLS floor
 * (1.2) and the same server timeouts as src/programs/webhook/server.ts, so the two differ only in what they
 * do per request. Like the webhook's `cdk8s_shm_admission_duration_seconds`, it times each request
 * from its headers to its answer; `GET /stats` gives the total (`{"seconds":S,"count":N}`).
 * Usage: node bench/floor-server.js --port N --tls-cert FILE --tls-key FILE
 */
const https = require('node:https');
const { readFileSync } = require('node:fs');

function flag(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) {
    process.stderr.write(`floor-server: --${name} is required\n`);
    process.exit(2);
  }
  return process.argv[i + 1];
}

const port = Number(flag('port'));
const stats = { seconds: 0, count: 0 };
const server = https.createServer({
  minVersion: 'TLSv1.2',
  cert: readFileSync(flag('tls-cert')),
  key: readFileSync(flag('tls-key')),
  keepAliveTimeout: 120_000,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  connectionsCheckingInterval: 1_000,
}, (req, res) => {
  if (req.url === '/stats') {
    const text = JSON.stringify(stats);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const started = process.hrtime.bigint();
  const chunks = [];
  req.on('data', chunk => chunks.push(chunk));
  req.on('end', () => {
    let uid = '';
    try {
      uid = JSON.parse(Buffer.concat(chunks).toString('utf8')).request.uid;
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 9 });
      res.end('not json\n');
      return;
    }
    const body = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":${JSON.stringify(uid)},"allowed":true}}`;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    stats.seconds += Number(process.hrtime.bigint() - started) / 1e9;
    stats.count += 1;
  });
});

// Every interface, as the webhook binds by default.
server.listen(port);
process.once('SIGTERM', () => server.close(() => process.exit(0)));
