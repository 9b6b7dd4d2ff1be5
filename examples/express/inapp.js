// Run it (from the repository root):
//   make node-package && cd examples/express && npm install && JWT_SECRET=change-me node inapp.js
//
// The classic Server-Sent Events uses, streamed on this Express app's own port
// (same origin, behind its own middleware); ssecast does the rest: ids, history
// replay with Last-Event-ID, keep-alive, fan-out, backpressure. The engine's
// own port is not used.
//
//   GET  /streams/notifications       per-user notifications; needs a JWT (HS256,
//                                     JWT_SECRET) as `Authorization: Bearer` or
//                                     `?token=` (what EventSource can send)
//   POST /users/:user/notifications   notifies one user (needs a JWT too)
//   GET  /streams/chat/:room          a chat room; POST /chat/:room {"user", "text"}
//   GET  /streams/dashboard           live counters every DASHBOARD_MS
//   POST /jobs                        starts a job; GET its `stream` URL to replay it
//                                     from the start: `progress` events, then `complete`
//   GET  /streams/ticker?symbol=AAPL  stock prices every TICK_MS

'use strict';

const express = require('express');
const jwt = require('jsonwebtoken');
const { Engine } = require('ssecast');

const JWT_SECRET = process.env.JWT_SECRET ?? '';
const PORT = Number(process.env.PORT ?? 3000);
const TICK_MS = Number(process.env.TICK_MS ?? 1000);
const DASHBOARD_MS = Number(process.env.DASHBOARD_MS ?? 2000);
const JOB_STEP_MS = Number(process.env.JOB_STEP_MS ?? 500);
const JOB_STEPS = 5;
/** @type {Record<string, number>} */
const SYMBOLS = { AAPL: 187, MSFT: 415, NVDA: 880 };

/** The user each authenticated request carries, set by `requireUser`. */
const users = new WeakMap();

/**
 * The user `requireUser` authenticated for `req`.
 * @param {import('express').Request} req
 * @returns {string}
 */
const userOf = (req) => users.get(req);

/**
 * Lets a request through with a valid JWT (Authorization header or `?token=`)
 * and remembers its `sub` as the request's user; 401 otherwise.
 * @type {import('express').RequestHandler}
 */
function requireUser(req, res, next) {
  const header = req.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : req.query.token;
  if (typeof token !== 'string' || !token) {
    return res.status(401).json({ error: 'a bearer token is required' });
  }
  try {
    const claims = jwt.verify(token, JWT_SECRET, { algorithms: ['HS256'] });
    if (typeof claims === 'string' || typeof claims.sub !== 'string' || claims.exp === undefined) {
      throw new Error('the token needs sub and exp');
    }
    users.set(req, claims.sub);
    return next();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return res.status(401).json({ error: `invalid token: ${message}` });
  }
}

/**
 * The app's routes, streaming and publishing through `engine`.
 * @param {import('ssecast').Engine} engine
 */
function createApp(engine) {
  const app = express();
  app.use(express.json({ limit: '16kb' }));
  let jobs = 0;

  app.get('/health', (req, res) => res.json({ stats: engine.stats() }));

  // Per-user notifications behind the app's own authentication.
  app.get('/streams/notifications', requireUser, (req, res) =>
    engine.stream(req, res, { topics: [`user/${userOf(req)}`] }),
  );
  app.post('/users/:user/notifications', requireUser, (req, res) => {
    const { text } = req.body ?? {};
    if (typeof text !== 'string' || !text || text.length > 500) {
      return res.status(422).json({ error: 'text must hold 1 to 500 characters' });
    }
    const body = { from: userOf(req), text };
    const id = engine.publish(`user/${req.params.user}`, body, { event: 'notification' });
    return res.json({ id });
  });

  // A chat room.
  app.get('/streams/chat/:room', (req, res) =>
    engine.stream(req, res, { topics: [`chat/${req.params.room}`] }),
  );
  app.post('/chat/:room', (req, res) => {
    const { user, text } = req.body ?? {};
    if (typeof user !== 'string' || !user || user.length > 40 || typeof text !== 'string' || !text) {
      return res.status(422).json({ error: 'user (1 to 40 characters) and text are required' });
    }
    const id = engine.publish(`chat/${req.params.room}`, { user, text }, { event: 'message' });
    return res.status(201).json({ id });
  });

  // A live dashboard.
  app.get('/streams/dashboard', (req, res) => engine.stream(req, res, { topics: ['dashboard'] }));

  // Job progress, replayed from the job's start through its `queued` id.
  app.post('/jobs', (req, res) => {
    const job = ++jobs;
    const topic = `job/${job}`;
    const queued = engine.publish(topic, { job, steps: JOB_STEPS }, { event: 'queued' });
    let step = 0;
    const timer = setInterval(() => {
      if (engine.stopped) return clearInterval(timer);
      step += 1;
      engine.publish(topic, { job, percent: (step * 100) / JOB_STEPS }, { event: 'progress' });
      if (step === JOB_STEPS) {
        clearInterval(timer);
        engine.publish(topic, { job, result: 'ok' }, { event: 'complete' });
      }
      return undefined;
    }, JOB_STEP_MS);
    res.status(202).json({ job, stream: `/streams/jobs/${job}?lastEventId=${encodeURIComponent(queued)}` });
  });
  app.get('/streams/jobs/:job', (req, res) =>
    engine.stream(req, res, { topics: [`job/${req.params.job}`] }),
  );

  // A stock ticker.
  app.get('/streams/ticker', (req, res) => {
    const symbols = [req.query.symbol ?? Object.keys(SYMBOLS)].flat().map(String);
    const unknown = symbols.filter((s) => !(s in SYMBOLS));
    if (unknown.length) return res.status(404).json({ error: `unknown symbols: ${unknown.join(', ')}` });
    return engine.stream(req, res, { topics: symbols.map((s) => `ticker/${s}`) });
  });

  // A bad topic or id is the client's fault; anything else is ours.
  /** @type {import('express').ErrorRequestHandler} */
  const sendError = (error, req, res, next) => {
    const invalid = /^ERR_SSECAST_INVALID_/.test(error.code ?? '');
    return res.status(invalid ? 400 : 503).json({ code: error.code, error: error.message });
  };
  app.use(sendError);
  return app;
}

/**
 * Background publishers: prices every TICK_MS, counters every DASHBOARD_MS.
 * @param {import('ssecast').Engine} engine
 */
function startFeeds(engine) {
  const prices = { ...SYMBOLS };
  const ticker = setInterval(() => {
    for (const [symbol, price] of Object.entries(prices)) {
      prices[symbol] = Math.max(1, Math.round(price * (1 + (Math.random() - 0.5) / 250) * 100) / 100);
      engine.publish(`ticker/${symbol}`, { symbol, price: prices[symbol] }, { event: 'price' });
    }
  }, TICK_MS);
  const dashboard = setInterval(() => engine.publish('dashboard', engine.stats(), { event: 'stats' }), DASHBOARD_MS);
  return () => {
    clearInterval(ticker);
    clearInterval(dashboard);
  };
}

async function main() {
  if (!JWT_SECRET) {
    console.error('set JWT_SECRET: the secret that signs the users\' tokens (HS256)');
    process.exit(1);
  }
  const engine = await Engine.start({ port: 0 });
  const stopFeeds = startFeeds(engine);
  const server = createApp(engine).listen(PORT, '127.0.0.1', () => {
    const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
    console.log(`app  http://localhost:${port}`);
  });
  const shutdown = async () => {
    stopFeeds();
    server.closeAllConnections();
    server.close();
    await engine.stop();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main();
