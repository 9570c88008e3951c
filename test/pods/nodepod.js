// test/pods/nodepod.js - a Node http pod for the differential suite
// (test/e2e_smuggle.sh): one JSON line per request Node's parser framed,
// with the path as the WHATWG URL parser reads it, then an answer.
//
//   node nodepod.js PORT LOGFILE
//
// /early... answers at once without reading the body (Node then drops the
// rest of the body itself); everything else reads it first.
'use strict';
const http = require('http');
const fs = require('fs');
const [port, logf] = process.argv.slice(2);
http.createServer((req, res) => {
  const path = new URL(req.url, 'http://pod.invalid').pathname;
  const xri = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i].toLowerCase() === 'x-real-ip') xri.push(req.rawHeaders[i + 1]);
  const rec = {pod: 'node', method: req.method, target: req.url, path, xri, host: [req.headers.host || ''],
    auth: req.headers.authorization ? [req.headers.authorization] : [], conn: req.socket.remotePort};
  const done = (n) => {
    rec.body = n;
    fs.appendFileSync(logf, JSON.stringify(rec) + '\n');
    res.end(`NODE ${req.method} ${path} xri=${xri.join(',')}`);
  };
  if (path.startsWith('/early')) return done(0);
  let n = 0;
  req.on('data', (d) => { n += d.length; });
  req.on('end', () => done(n));
}).listen(Number(port), '127.0.0.1');
