// The Express SSE peer, written the way Express users write one: a set of
// open responses and a loop that writes each published event to all of them.
// Same surface as ssecast: GET /events, POST /publish (JSON {data}).
// Usage: node server.js PORT
'use strict';
const express = require('express');

const port = Number(process.argv[2] || 8082);
const app = express();
const clients = new Set();
let nextId = 0;

app.get('/events', (req, res) => {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.write(': ok\n\n');
  clients.add(res);
  req.on('close', () => clients.delete(res));
});

app.post('/publish', express.json(), (req, res) => {
  const data = String(req.body.data ?? '');
  nextId += 1;
  const frame = `id: ${nextId}\ndata: ${data.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`;
  for (const client of clients) client.write(frame);
  res.json({ id: String(nextId) });
});

const server = app.listen(port, '127.0.0.1', () => {
  console.error(`express peer listening on 127.0.0.1:${port}`);
});
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.maxConnections = 100000;
