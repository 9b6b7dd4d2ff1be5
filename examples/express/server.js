// Run it (from the repository root):
//   make node-package && cd examples/express && npm install && node server.js
// then open http://localhost:3000 in two windows.
//
// An Express 5 app that keeps its routes and hands every Server-Sent Events
// connection to ssecast: a chat (POST /api/chat) and a live analytics
// dashboard (POST /api/track, plus the engine's own counters every 2 s). The
// page (public/index.html) listens to the engine with EventSource.
//
// Each user also has a private inbox, `user/<name>/inbox`: the engine checks a
// token on every stream (SSECAST_JWT_SECRET, or a random secret per run), and
// `chat` and `dashboard` stay public. The app logs its user in its own way
// (here a bare name in a cookie; use your real session), mints a stream token
// for the user's inbox (GET /api/inbox/stream) and the page streams with it in
// the query string, fetching a fresh one when its stream ends at the expiry.

'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const { once } = require('node:events');
const express = require('express');
const { Engine } = require('ssecast');

const MAX_TEXT = 500;
const USER_NAME = /^[A-Za-z0-9_-]{1,32}$/;
const STREAM_TOKEN_TTL_S = 600;

/**
 * The logged-in user, from the cookie /api/login set; use your real session.
 * @param {import('express').Request} req
 */
function currentUser(req) {
  const user = /(?:^|;\s*)demo_user=([^;]*)/.exec(req.headers.cookie ?? '')?.[1];
  if (!user || !USER_NAME.test(user)) {
    throw Object.assign(new Error('log in first'), { status: 401 });
  }
  return user;
}

/**
 * A 400 answer for a request that does not hold what the route needs.
 * @param {string} message
 */
function badRequest(message) {
  return Object.assign(new Error(message), { status: 400 });
}

/**
 * The app's routes, publishing through `engine`.
 * @param {import('ssecast').Engine} engine
 * @param {number} enginePort
 */
function createApp(engine, enginePort) {
  const app = express();
  const views = new Map();

  app.use(express.json({ limit: '16kb' }));
  app.use(express.static(path.join(__dirname, 'public')));

  // Where the page's EventSource connects: the engine's own port.
  app.get('/api/config', (req, res) => res.json({ enginePort }));

  app.post('/api/chat', (req, res) => {
    const { user, text } = req.body ?? {};
    if (typeof user !== 'string' || !user.trim() || user.length > 40) {
      throw badRequest('user must be a name of 1 to 40 characters');
    }
    if (typeof text !== 'string' || !text.trim() || text.length > MAX_TEXT) {
      throw badRequest(`text must hold 1 to ${MAX_TEXT} characters`);
    }
    const id = engine.publish('chat', { user, text, at: Date.now() }, { event: 'message' });
    res.status(201).json({ id });
  });

  app.post('/api/track', (req, res) => {
    const { page } = req.body ?? {};
    if (typeof page !== 'string' || !page || page.length > 100) {
      throw badRequest('page must be a path of 1 to 100 characters');
    }
    views.set(page, (views.get(page) ?? 0) + 1);
    const total = [...views.values()].reduce((sum, n) => sum + n, 0);
    const id = engine.publish('dashboard', { total, views: Object.fromEntries(views) }, {
      event: 'views',
    });
    res.status(201).json({ id });
  });

  // Demo login: remembers who this browser is, without a password.
  app.post('/api/login', (req, res) => {
    const { user } = req.body ?? {};
    if (typeof user !== 'string' || !USER_NAME.test(user)) {
      throw badRequest('user must be 1 to 32 letters, digits, - or _');
    }
    res.cookie('demo_user', user, { httpOnly: true, sameSite: 'lax' });
    res.json({ user });
  });

  // The logged-in user's inbox stream: its topic and a token for it only.
  app.get('/api/inbox/stream', (req, res) => {
    const user = currentUser(req);
    const topic = `user/${user}/inbox`;
    const token = engine.subscriberToken(['user/{sub}/inbox'], {
      ttl: STREAM_TOKEN_TTL_S,
      subject: user,
    });
    res.json({ topic, token, expiresIn: STREAM_TOKEN_TTL_S });
  });

  app.post('/api/users/:user/inbox', (req, res) => {
    const from = currentUser(req);
    const { text } = req.body ?? {};
    if (!USER_NAME.test(req.params.user)) throw badRequest('no such user name');
    if (typeof text !== 'string' || !text.trim() || text.length > MAX_TEXT) {
      throw badRequest(`text must hold 1 to ${MAX_TEXT} characters`);
    }
    const id = engine.publish(`user/${req.params.user}/inbox`, { from, text }, { event: 'private' });
    res.status(201).json({ id });
  });

  /** @type {import('express').ErrorRequestHandler} */
  const sendError = (error, req, res, next) => {
    // ssecast errors carry a code such as ERR_SSECAST_TOO_LARGE: bad input too.
    const status = error.status ?? (String(error.code).startsWith('ERR_SSECAST_') ? 400 : 500);
    return res.status(status).json({ error: error.message, code: error.code });
  };
  app.use(sendError);
  return app;
}

/**
 * Starts the app on `port` and an engine on `enginePort` (0: free ports).
 * Resolves with the bound ports and a `close()` that stops both.
 */
async function start({ port = 3000, enginePort = 8080, host = '127.0.0.1' } = {}) {
  // The HTTP server listens first: the engine's CORS allowlist names its origin.
  const appServer = http.createServer();
  appServer.listen(port, host);
  await once(appServer, 'listening');
  const appPort = /** @type {import('node:net').AddressInfo} */ (appServer.address()).port;
  const engine = await Engine.start({
    port: enginePort,
    bind: host,
    corsOrigins: [`http://localhost:${appPort}`, `http://127.0.0.1:${appPort}`],
    jwtSecret: process.env.SSECAST_JWT_SECRET || crypto.randomBytes(32).toString('base64url'),
    publicTopics: ['chat', 'dashboard'],
  });
  appServer.on('request', createApp(engine, engine.port));
  const counters = setInterval(() => {
    engine.publish('dashboard', engine.stats(), { event: 'engine' });
  }, 2000);
  return {
    appPort,
    enginePort: engine.port,
    async close() {
      clearInterval(counters);
      appServer.close();
      appServer.closeAllConnections();
      await engine.stop();
    },
  };
}

if (require.main === module) {
  /** @type {(name: string, fallback: number) => number} */
  const env = (name, fallback) => Number(process.env[name] ?? fallback);
  start({ port: env('PORT', 3000), enginePort: env('ENGINE_PORT', 8080) }).then(
    (running) => {
      console.log(`app    http://localhost:${running.appPort}`);
      console.log(`events http://localhost:${running.enginePort}/events?topic=chat&topic=dashboard`);
      const shutdown = () => running.close().then(() => console.log('stopped'));
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    },
    (error) => {
      console.error(error.message);
      process.exitCode = 1;
    },
  );
}

module.exports = { createApp, start };
