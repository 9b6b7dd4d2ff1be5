// The better-sse peer, written the way its README shows: a channel, a session
// per client registered on it, and POST /publish broadcasting to the channel.
// The serializer passes strings through (the load tool reads `<seq> <ns>`
// data, not JSON). Same surface as ssecast: GET /events, POST /publish (JSON
// {data}).
// Usage: node server.js PORT
'use strict';
const express = require('express');
const { createChannel, createSession } = require('better-sse');

const port = Number(process.argv[2] || 8088);
const app = express();
const channel = createChannel();
let nextId = 0;

app.get('/events', async (req, res) => {
  const session = await createSession(req, res, { serializer: String });
  channel.register(session);
});

app.post('/publish', express.json(), (req, res) => {
  nextId += 1;
  channel.broadcast(String(req.body.data ?? ''), 'message', { eventId: String(nextId) });
  res.json({ id: String(nextId) });
});

const server = app.listen(port, '127.0.0.1', () => {
  console.error(`express + better-sse listening on 127.0.0.1:${port}`);
});
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.maxConnections = 100000;
