// Express with ssecast in-app streams, written the way its README shows:
// GET /events hands the response to engine.stream, POST /publish publishes
// through the engine. Same surface as ssecast: GET /events?topic=..., POST
// /publish (JSON {topic, data}).
// Usage: node server.js PORT
'use strict';
const express = require('express');
const { Engine } = require('ssecast');

const port = Number(process.argv[2] || 8087);

(async () => {
  // One engine thread, like every other server of the benchmark; its own port is unused.
  const engine = await Engine.start({ port: 0, workerThreads: 1, maxConnections: 20000 });
  const app = express();
  app.get('/events', (req, res) =>
    engine.stream(req, res, { topics: [String(req.query.topic ?? 'default')] }),
  );
  app.post('/publish', express.json(), (req, res) => {
    res.json({ id: engine.publish(req.body.topic ?? 'default', String(req.body.data ?? '')) });
  });
  const server = app.listen(port, '127.0.0.1', () => {
    console.error(`express + ssecast in-app listening on 127.0.0.1:${port}`);
  });
  server.keepAliveTimeout = 0;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.maxConnections = 100000;
})();
