'use strict';
// Six tabs of one browser, each on its own topic set, at once over HTTP/1.1.
// A browser opens at most six HTTP/1.1 connections per host, so six streams fit
// and each tab must get its own events on one connection of its own.

const assert = require('node:assert/strict');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { openClient, waitForEvents, waitInPage, events } = require('../lib/browser');

const TABS = 6;

describe('six tabs at once', () => {
  const res = resources();
  let pages;
  let engine;
  let proxy;
  let browser;

  before(async () => {
    pages = await res.pages();
    engine = await res.engine(['--cors-origins', pages.origin]);
    proxy = await res.proxy(engine.port);
    browser = await res.browser();
  });

  test('each tab receives its own topics on one connection', async (t) => {
    const context = await contextFor(t, browser);
    const topicsOf = (tab) => [`tab${tab}`, `tab${tab}-extra`, 'everyone'];
    const srcOf = (tab) =>
      `${proxy.origin}/events?${topicsOf(tab).map((topic) => `topic=${topic}`).join('&')}`;
    const tabs = [];
    for (let tab = 0; tab < TABS; tab++) {
      tabs.push(await openClient(context, pages.clientUrl({ src: srcOf(tab) })));
    }
    assert.equal((await engine.health()).connections, TABS);
    assert.equal(proxy.accepted, TABS, 'one connection per tab');
    assert.deepEqual(
      proxy.requests.map((r) => r.target),
      tabs.map((_, tab) => srcOf(tab).slice(proxy.origin.length)),
    );

    const expected = tabs.map(() => []);
    for (let round = 0; round < 3; round++) {
      for (let tab = 0; tab < TABS; tab++) {
        for (const topic of topicsOf(tab).slice(0, 2)) {
          const data = `${topic} #${round}`;
          await engine.publish(topic, data);
          expected[tab].push(data);
        }
      }
      const data = `everyone #${round}`;
      await engine.publish('everyone', data);
      for (const list of expected) list.push(data);
    }

    for (const [tab, page] of tabs.entries()) {
      const got = (await waitForEvents(page, expected[tab].length)).map((e) => e.data);
      const ofTopic = (list, prefix) => list.filter((d) => d.startsWith(`${prefix} `));
      for (const topic of topicsOf(tab)) {
        assert.deepEqual(ofTopic(got, topic), ofTopic(expected[tab], topic), `tab ${tab}, ${topic}`);
      }
      assert.equal(got.length, expected[tab].length, `tab ${tab} got nothing else`);
    }

    // A seventh stream to the same host waits for a free connection, and gets
    // one as soon as a tab closes.
    const seventh = await context.newPage();
    await seventh.goto(pages.clientUrl({ src: srcOf(0) }));
    await engine.publish('tab0', 'while the seventh waits');
    await waitForEvents(tabs[0], expected[0].length + 1);
    assert.equal(await seventh.evaluate(() => window.source.readyState), 0);
    assert.equal(proxy.accepted, TABS);
    await tabs[5].close();
    await waitInPage(seventh, () => window.source.readyState === EventSource.OPEN);
    assert.equal(proxy.accepted, TABS + 1);
    await engine.publish('tab0', 'now the seventh too');
    const [last] = (await waitForEvents(seventh, 1)).slice(-1);
    assert.equal(last.data, 'now the seventh too');
    assert.equal((await events(seventh)).length, 1);
  });
});
