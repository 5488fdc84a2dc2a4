// check-report.cjs: opens a report.html in headless Chromium and prints
// what it shows, for FileCheck (test/Viewer/report.test).
//
//   node check-report.cjs PLAYWRIGHT_CORE_DIR REPORT.html SCREENSHOT.png NODE_ID
//
// Loads the page from file:// with every non-file request aborted (the
// report must work offline), waits for body[data-ready="1"], counts the
// drawn nodes and links against the inlined JSON, clicks NODE_ID and prints
// the details panel, then saves a full-page screenshot. Any page error,
// console error or network attempt is printed and fails the check.
'use strict';
const path = require('path');
const [modules, report, screenshot, nodeId] = process.argv.slice(2);
const { chromium } = require(path.resolve(modules));

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
           '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
  const problems = [];
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  page.on('console', m => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  await page.route('**/*', route => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    problems.push('network request: ' + url);
    return route.abort();
  });
  await page.goto('file://' + path.resolve(report));
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });

  const data = JSON.parse(await page.textContent('#circuit'));
  const nodes = await page.locator('#graph-svg g.node').count();
  const edges = await page.locator('#graph-svg path.edge').count();
  console.log(`nodes drawn ${nodes} of ${data.nodes.length}`);
  console.log(`links drawn ${edges} of ${data.links.length}`);
  console.log('title ' + (await page.textContent('#title')));
  console.log('headline ' + (await page.textContent('#headline')));

  const before = await page.locator('#details-id').count();
  console.log(`details before click ${before}`);
  await page.click(`#graph-svg g.node[data-id="${nodeId}"]`);
  await page.waitForSelector('#details-id');
  console.log('details id ' + (await page.textContent('#details-id')));
  console.log('selected ' + (await page.getAttribute('#graph-svg g.node.selected', 'data-id')));
  const h3 = await page.locator('#details h3').allTextContents();
  console.log('details sections ' + h3.join(' | '));
  const node = data.nodes.find(n => n.node_id === nodeId);
  const samples = node.task_samples.length + node.top_snippets.length;
  const samplesShown = await page.locator('#details .sample').count();
  console.log(`samples shown ${samplesShown} of ${samples}`);
  const tokens = await page.locator('#details .sample .tok').count();
  const want = node.task_samples.concat(node.top_snippets).reduce((a, s) => a + s.tokens.length, 0);
  console.log(`tokens shown ${tokens} of ${want}`);
  const first = page.locator('#details .sample .tok').nth(2);
  console.log(`first sample token 2 "${await first.textContent()}" value ${await first.getAttribute('title')}`);
  const highlighted = await page.locator('#graph-svg path.edge.hl').count();
  const incident = data.links.filter(l => l.source === nodeId || l.target === nodeId).length;
  console.log(`highlighted links ${highlighted} of ${incident}`);
  console.log('hash ' + decodeURIComponent(await page.evaluate(() => location.hash)));

  console.log(`curve points ${await page.locator('#curve-svg circle.curve-dot').count()} of ${data.circ.loss_curve.length}`);
  console.log(`audit rows ${await page.locator('#audit-table tr').count() - 1} of ${data.circ.audit.length}`);

  // The threshold slider hides weak links; clicking the background clears.
  await page.fill('#threshold', '60');
  await page.dispatchEvent('#threshold', 'input');
  const strong = data.links.filter(l => l.kind !== 'residual').map(l => Math.abs(l.weight));
  const max = Math.max(...strong);
  const kept = await page.evaluate(() => [...document.querySelectorAll('#graph-svg path.edge:not(.residual)')]
    .filter(e => getComputedStyle(e).display !== 'none').length);
  console.log(`links at 60% threshold ${kept} of ${strong.filter(w => w >= 0.6 * max).length}`);
  await page.fill('#threshold', '0');
  await page.dispatchEvent('#threshold', 'input');

  await page.screenshot({ path: screenshot, fullPage: true });
  await page.mouse.click(5, 5);
  await page.click('#graph-svg', { position: { x: 3, y: 3 } });
  console.log(`selected after background click ${await page.locator('#graph-svg g.node.selected').count()}`);

  for (const p of problems) console.log('PROBLEM ' + p);
  console.log(`problems ${problems.length}`);
  await browser.close();
})().catch(e => { console.error(e); process.exit(1); });
