import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  escapeHtml,
  formatCount,
  formatDuration,
  formatPercent,
  prepareInlineSvg,
  renderReportHtml,
  writeReport,
} from '../../src/report/html.js';
import { syntheticReport } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/report-shot.png';

test('formatters', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(formatPercent(0.87654), '87.65%');
  assert.equal(formatPercent(Number.NaN), '—');
  assert.equal(formatPercent(undefined), '—');
  assert.equal(formatCount(3_504_872), '3.50 M');
  assert.equal(formatCount(1_234_567_890), '1.23 G');
  assert.equal(formatCount(56_000), '56.0 k');
  assert.equal(formatCount(999), '999');
  assert.equal(formatDuration(4.25), '4.3s');
  assert.equal(formatDuration(83.2), '1m 23s');
  assert.equal(formatDuration(3723.4), '1h 02m 03s');
});

test('prepareInlineSvg prefixes ids and strips active content', () => {
  const svg = `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><defs><linearGradient id="gradient_0"/></defs><script>alert(2)</script><rect fill="url(#gradient_0)"/><use href="#gradient_0"/><foreignObject><div>x</div></foreignObject></svg>`;
  const out = prepareInlineSvg(svg, 'c1-');
  assert.ok(out.startsWith('<svg'));
  assert.ok(out.includes('id="c1-gradient_0"'));
  assert.ok(out.includes('url(#c1-gradient_0)'));
  assert.ok(out.includes('href="#c1-gradient_0"'));
  assert.ok(!/script|onload|foreignObject|alert/i.test(out), out);
  assert.throws(() => prepareInlineSvg('<div></div>', 'x'), /not an <svg>/);
});

test('renderReportHtml is self-contained and escapes data', async () => {
  const evil = '<script>alert("x")</script>';
  const data = await syntheticReport({
    title: `Run ${evil}`,
    command: `mobilezoo train --note '${evil}' && echo "done"`,
  });
  data.model = { ...data.model, name: `Net ${evil}`, options: { tag: evil } };
  data.environment = { ...data.environment, cpu: evil };
  data.dataset = { ...data.dataset, name: `Set ${evil}` };
  const html = renderReportHtml(data);
  assert.ok(!/<script/i.test(html), 'no script element anywhere');
  assert.ok(html.includes('Run &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  assert.ok(html.includes(`mobilezoo train --note &#39;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; &amp;&amp; echo &quot;done&quot;`));
  // no external resources: the only URLs are SVG/XLink namespace declarations
  const urls = html.match(/https?:\/\/[^\s"'<>)]+/g) ?? [];
  for (const u of urls) assert.match(u, /^http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)$/, `unexpected URL ${u}`);
  assert.ok(!/<link\b|<img\b|<iframe\b|@import|\bsrc=/i.test(html));
  // three charts, each with uniquely prefixed ids
  assert.equal((html.match(/<figure class="chart"/g) ?? []).length, 3);
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  // key numbers
  assert.ok(html.includes(`>${formatPercent(data.final!.top1)}<`));
  assert.ok(html.includes('>99.34%<'), 'top-5');
  assert.ok(html.includes('>0.4563<'), 'test loss');
  assert.ok(html.includes('706,634'), 'exact parameter count');
  // per-class table and epoch table
  assert.equal((html.match(/<tr>/g) ?? []).length >= 10 + 12, true);
  assert.ok(html.includes('most often predicted as'));
});

test('report.html renders in headless Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (install Debian's chromium package to run this test)` }, async () => {
  const { chromium } = await import('playwright-core');
  const dir = await mkdtemp(join(tmpdir(), 'mobilezoo-report-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const data = await syntheticReport();
    const path = await writeReport(dir, data);
    assert.equal(path, join(dir, 'report.html'));
    const html = await readFile(path, 'utf8');
    assert.ok(html.startsWith('<!DOCTYPE html>'));

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') consoleErrors.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    page.on('request', (req) => requests.push(req.url()));
    const url = pathToFileURL(path).href;
    await page.goto(url, { waitUntil: 'load' });

    assert.equal(await page.title(), data.title);
    assert.equal(await page.locator('h1').innerText(), data.title);

    const charts = page.locator('figure.chart > svg');
    assert.equal(await charts.count(), 3);
    for (let i = 0; i < 3; i++) {
      const svg = charts.nth(i);
      assert.ok(await svg.isVisible(), `chart ${i} visible`);
      const box = await svg.boundingBox();
      assert.ok(box && box.width > 200 && box.height > 150, `chart ${i} has a real size: ${JSON.stringify(box)}`);
    }
    // charts fit their panels (no horizontal overflow of the page)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page overflows horizontally by ${overflow}px`);

    const text = await page.locator('body').innerText();
    for (const expected of [formatPercent(data.final!.top1), '99.34%', '0.4563', '706,634', '706.6 k', '25.17 M', 'airplane', 'truck', 'v20.20.2', '1.30.0']) {
      assert.ok(text.includes(expected), `page text contains ${expected}`);
    }
    assert.ok(text.includes(data.command), 'exact command shown verbatim');
    assert.equal(await page.locator('pre.command').innerText(), data.command);
    assert.equal(await page.locator('table.epochs tbody tr').count(), 12);
    assert.equal(await page.locator('table.per-class tbody tr').count(), 10);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(requests, [url], 'no requests besides the report itself');
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
});
