#!/usr/bin/env node
// Opens self-contained HTML report pages in headless Chromium and reports
// layout and accessibility defects.
//
//   node browser/check-pages.mjs PAGE.html [PAGE.html ...]
//
// stdout: exactly one JSON document,
//   {"pages":[{"file":"PAGE.html","problems":["...", ...]}, ...]}
// exit 0: no page has a problem; 1: some page has a problem;
// 2: usage error, or the browser cannot start (message on stderr, nothing on stdout).
//
// See README.md beside this file for what is checked.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const DESKTOP = { width: 1366, height: 900, deviceScaleFactor: 1, isMobile: false, hasTouch: false };
const MOBILE = { width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const PAGE_TIMEOUT_MS = 30_000;
const LAUNCH_TIMEOUT_MS = 30_000;
const MIN_CONTRAST = 4.5;
const MAX_OFFENDERS = 5;
// The machine has no network: without these Chromium keeps trying to connect out.
const EXTRA_FLAGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const VERDICT_SELECTOR = [
  '[data-verdict]',
  'tr.pass td:last-child',
  'tr.fail td:last-child',
  'tr.inside td:last-child',
  'tr.outside td:last-child',
].join(', ');

const USAGE = 'usage: node browser/check-pages.mjs PAGE.html [PAGE.html ...]';

class UsageError extends Error {}
class BrowserStartError extends Error {}
class PageTimeout extends Error {}

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  if (argv.length === 1 && (argv[0] === '-h' || argv[0] === '--help')) {
    return { help: true, files: [] };
  }
  const files = [];
  let onlyFiles = false;
  for (const a of argv) {
    if (!onlyFiles && a === '--') { onlyFiles = true; continue; }
    if (!onlyFiles && a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    files.push(a);
  }
  if (files.length === 0) throw new UsageError('no page given');
  for (const f of files) {
    let st;
    try { st = fs.statSync(f); } catch { throw new UsageError(`no such file: ${f}`); }
    if (!st.isFile()) throw new UsageError(`not a file: ${f}`);
  }
  return { help: false, files };
}

// ------------------------------------------------------------------ browser

// @sparticuz/chromium unpacks its Brotli-compressed Chromium into os.tmpdir()
// and reuses whatever `chromium` it finds there, whatever its version, and
// without any guard against a second process reading a half-written binary.
// So unpack into a private staging directory and publish it with one rename
// into a directory named after the package version.
async function chromiumExecutable(chromium) {
  const pkgUrl = new URL('./node_modules/@sparticuz/chromium/package.json', import.meta.url);
  const version = JSON.parse(fs.readFileSync(pkgUrl, 'utf8')).version;
  const tmp = os.tmpdir();
  const cache = path.join(tmp, `handshake-sim-chromium-${version}`);
  const exe = path.join(cache, 'chromium');
  if (fs.existsSync(path.join(cache, '.complete')) && fs.existsSync(exe)) return exe;

  const staging = fs.mkdtempSync(path.join(tmp, `handshake-sim-chromium-${version}-staging-`));
  const savedTmpdir = process.env.TMPDIR;
  try {
    process.env.TMPDIR = staging;
    const unpacked = await chromium.executablePath();
    if (path.resolve(unpacked) !== path.join(staging, 'chromium')) {
      throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, expected ${staging}/chromium`);
    }
  } finally {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
  }
  fs.writeFileSync(path.join(staging, '.complete'), `${version}\n`);
  try {
    fs.renameSync(staging, cache);
  } catch (e) {
    // Another run published it first (or a stale, incomplete one is in the way).
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(path.join(cache, '.complete'))) {
      throw new Error(`cannot publish unpacked Chromium to ${cache}: ${e.message}`);
    }
  }
  return exe;
}

// Use the machine's fonts when it has a fontconfig setup; otherwise fall
// back to the fonts that @sparticuz/chromium bundles (Open Sans only).
function ensureFonts(cacheDir) {
  if (process.env.FONTCONFIG_PATH || process.env.FONTCONFIG_FILE) return;
  if (fs.existsSync('/etc/fonts/fonts.conf')) return;
  const fontsDir = path.join(cacheDir, 'fonts');
  if (!fs.existsSync(fontsDir)) return;
  const conf = path.join(cacheDir, 'fonts-local.conf');
  fs.writeFileSync(conf, `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><dir>${fontsDir}</dir><cachedir>${path.join(cacheDir, 'fonts-cache')}</cachedir></fontconfig>\n`);
  process.env.FONTCONFIG_FILE = conf;
}

class Browser {
  constructor(puppeteer, chromium, exe, tmpRoot) {
    this.puppeteer = puppeteer;
    this.chromium = chromium;
    this.exe = exe;
    this.tmpRoot = tmpRoot;
    this.browser = null;
    this.launches = 0;
  }

  async get() {
    if (this.browser && this.browser.connected) return this.browser;
    await this.kill();
    // A fresh profile for every launch (a killed browser may leave locks behind).
    const profile = path.join(this.tmpRoot, `profile-${++this.launches}`);
    fs.mkdirSync(profile);
    try {
      this.browser = await this.puppeteer.launch({
        executablePath: this.exe,
        headless: 'shell',
        args: [...this.chromium.args, ...EXTRA_FLAGS],
        userDataDir: profile,
        defaultViewport: null,
        pipe: false,
        timeout: LAUNCH_TIMEOUT_MS,
        protocolTimeout: PAGE_TIMEOUT_MS * 2,
      });
    } catch (e) {
      this.browser = null;
      throw new BrowserStartError(`cannot start Chromium (${this.exe}): ${e.message}`);
    }
    return this.browser;
  }

  async kill() {
    const b = this.browser;
    this.browser = null;
    if (!b) return;
    const proc = b.process();
    try { proc?.kill('SIGKILL'); } catch { /* already gone */ }
    try { await Promise.race([b.close(), sleep(2000)]); } catch { /* dead anyway */ }
  }

  async close() {
    const b = this.browser;
    this.browser = null;
    if (!b) return;
    try {
      await Promise.race([b.close(), sleep(5000).then(() => { throw new Error('close timed out'); })]);
    } catch {
      try { b.process()?.kill('SIGKILL'); } catch { /* gone */ }
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------ in-page code
// Everything in this section runs inside the page (page.evaluate), so each
// function must be self-contained.

function pagePrepare() {
  // Open every <details> so that what it hides is laid out and checked too,
  // and make lazy images load now.
  for (const d of document.querySelectorAll('details')) {
    if (!d.open) { d.open = true; d.setAttribute('data-checker-opened', ''); }
  }
  const imgs = [...document.querySelectorAll('img')];
  for (const img of imgs) if (img.loading === 'lazy') img.loading = 'eager';
  const waits = imgs.filter((img) => !img.complete).map((img) => new Promise((resolve) => {
    img.addEventListener('load', resolve, { once: true });
    img.addEventListener('error', resolve, { once: true });
    setTimeout(resolve, 5000);
  }));
  return Promise.all([document.fonts ? document.fonts.ready : null, ...waits])
    .then(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
    .then(() => null);
}

function pageImagesAndSvgs() {
  const problems = [];
  const short = (s, n = 80) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  document.querySelectorAll('img').forEach((img, i) => {
    if (!(img.complete && img.naturalWidth > 0)) {
      const src = img.getAttribute('src');
      const what = src ? `src="${short(src)}"` : `#${i + 1} (no src)`;
      problems.push(`image did not load: <img ${what}> (img #${i + 1}, complete=${img.complete}, naturalWidth=${img.naturalWidth})`);
    }
  });
  // Outermost inline <svg> elements; an SVG that only holds definitions
  // (an icon sprite of <symbol>s, say) is meant to have no box.
  const defsOnly = new Set(['defs', 'symbol', 'style', 'title', 'desc', 'metadata', 'script']);
  [...document.querySelectorAll('svg')].filter((s) => !s.parentElement || !s.parentElement.closest('svg'))
    .forEach((svg, i) => {
      const kids = [...svg.children];
      if (kids.length > 0 && kids.every((k) => defsOnly.has(k.localName))) return;
      const r = svg.getBoundingClientRect();
      if (!(r.width > 0 && r.height > 0)) {
        const label = svg.getAttribute('aria-label') || svg.querySelector('title')?.textContent
          || svg.getAttribute('class') || '';
        problems.push(`inline <svg> #${i + 1}${label ? ` ("${short(label.trim(), 40)}")` : ''} has an empty box (${r.width}x${r.height})`);
      }
    });
  return problems;
}

// Elements whose right edge (or whose own spilling content) goes past `vw`
// and that are not inside a scroll box (overflow-x auto/scroll) that itself
// fits in the viewport. Only the outermost such elements are listed, in
// document order.
function pageOverflowOffenders(vw, max) {
  const TOL = 1;
  const describe = (el, r, boxPast, far) => {
    let d = el.localName;
    if (el.id) d += `#${el.id}`;
    const cls = typeof el.className === 'string' ? el.className : el.getAttribute('class') || '';
    for (const c of cls.split(/\s+/).filter(Boolean)) d += `.${c}`;
    const text = (el.innerText ?? el.textContent ?? '').replace(/\s+/g, ' ').trim();
    if (text) d += ` "${text.length > 40 ? `${text.slice(0, 39)}…` : text}"`;
    d += boxPast ? ` (right edge ${Math.round(r.right + scrollX)}px`
      : ` (box fits, its content runs to ${Math.round(far)}px`;
    if (el.closest('[data-checker-opened]')) d += ', inside a <details> the checker opened';
    return `${d})`;
  };
  const inFittingScrollBox = (el) => {
    for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.overflowX === 'auto' || cs.overflowX === 'scroll') {
        const ar = a.getBoundingClientRect();
        if (ar.left + scrollX >= -TOL && ar.right + scrollX <= vw + TOL) return true;
      }
    }
    return false;
  };
  const all = [document.documentElement, ...(document.body ? [document.body, ...document.body.querySelectorAll('*')] : [])]
    .filter((el) => !(el instanceof SVGElement && el.localName !== 'svg')); // an <svg> is judged as one box
  // How far right each element reaches: its box, or, when it lets content
  // spill (overflow-x visible), its content too (a <pre> whose long lines
  // run out of its box, say).
  const rects = new Map();
  const reach = new Map();
  for (const el of all) {
    const r = el.getBoundingClientRect();
    rects.set(el, r);
    let right = r.right + scrollX;
    if (getComputedStyle(el).overflowX === 'visible' && el.scrollWidth > 0) {
      right = Math.max(right, r.left + scrollX + el.scrollWidth);
    }
    reach.set(el, right);
  }
  const offenders = new Set();
  const outermost = [];
  for (const el of all) {
    const r = rects.get(el);
    if (r.width === 0 && r.height === 0) continue;
    const boxPast = r.right + scrollX > vw + TOL;
    if (!boxPast) {
      // Its box fits: it is to blame only for content that spills out of it
      // and that no child element's box or spill accounts for.
      const far = reach.get(el);
      if (far <= vw + TOL) continue;
      if ([...el.children].some((c) => reach.has(c) && reach.get(c) >= far - TOL)) continue;
    }
    if (inFittingScrollBox(el)) continue;
    offenders.add(el);
    let nested = false;
    for (let a = el.parentElement; a; a = a.parentElement) if (offenders.has(a)) { nested = true; break; }
    if (!nested) outermost.push(describe(el, r, boxPast, reach.get(el)));
  }
  return { shown: outermost.slice(0, max), more: Math.max(0, outermost.length - max) };
}

function pageDocWidths() {
  const de = document.documentElement;
  return {
    scrollWidth: de.scrollWidth,
    clientWidth: de.clientWidth,
    innerWidth: window.innerWidth,
    hasViewportMeta: !!document.querySelector('meta[name="viewport" i]'),
  };
}

function pageAddViewportMeta() {
  const m = document.createElement('meta');
  m.name = 'viewport';
  m.content = 'width=device-width, initial-scale=1';
  (document.head || document.documentElement).prepend(m);
  return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))).then(() => document.documentElement.clientWidth);
}

function pageContrast(selector, min) {
  let canvasCtx = null;
  const parse = (s) => {
    const m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(s);
    if (m) {
      let a = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
      return [+m[1], +m[2], +m[3], a];
    }
    // Any other colour syntax (color(), oklch(), ...): let a canvas resolve it.
    if (!canvasCtx) {
      const c = document.createElement('canvas');
      c.width = 1; c.height = 1;
      canvasCtx = c.getContext('2d', { willReadFrequently: true });
    }
    canvasCtx.clearRect(0, 0, 1, 1);
    canvasCtx.fillStyle = s;
    canvasCtx.fillRect(0, 0, 1, 1);
    const d = canvasCtx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top, below) => [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3]));
  const lum = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      const c = v / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const fmt = (rgb) => `rgb(${rgb.map((v) => Math.round(v)).join(',')})`;
  const groups = new Map();
  for (const el of new Set(document.querySelectorAll(selector))) {
    const layers = [];
    for (let a = el; a; a = a.parentElement) {
      const bg = parse(getComputedStyle(a).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    let bg = [255, 255, 255];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    const fg = over(parse(getComputedStyle(el).color), bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio >= min) continue;
    let shown = ratio.toFixed(2);
    if (parseFloat(shown) >= min) shown = (Math.floor(ratio * 100) / 100).toFixed(2);
    const text = (el.textContent || '').replace(/\s+/g, ' ').trim();
    const msg = `contrast ${shown}:1 < ${min}:1 for "${text.length > 40 ? `${text.slice(0, 39)}…` : text}" (color ${fmt(fg)} on ${fmt(bg)})`;
    groups.set(msg, (groups.get(msg) || 0) + 1);
  }
  return [...groups].map(([msg, n]) => (n > 1 ? `${msg}, ${n} elements` : msg));
}

// ------------------------------------------------------------- page checks

function isLocalUrl(u) {
  return /^(file|data|about|blob):/i.test(u);
}

// Opens `url` in a new tab at `viewport`; console errors, uncaught
// exceptions and external requests go to `sink`. External requests are
// recorded and blocked.
async function openPage(browser, url, viewport, sink, deadline) {
  const page = await browser.newPage();
  sink.pages.push(page);
  await page.setViewport(viewport);
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.isInterceptResolutionHandled()) return;
    const u = req.url();
    if (isLocalUrl(u)) {
      req.continue().catch(() => {});
    } else {
      sink.external.add(u);
      req.abort('blockedbyclient').catch(() => {});
    }
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location() || {};
    if (loc.url && sink.external.has(loc.url)) return; // already reported as an external request
    const where = loc.url ? ` (${loc.url}${loc.lineNumber !== undefined ? `:${loc.lineNumber + 1}` : ''})` : '';
    sink.add(`console error: ${msg.text()}${where}`);
  });
  page.on('pageerror', (err) => {
    const m = err && typeof err === 'object' && 'message' in err ? err.message : String(err);
    sink.add(`uncaught exception: ${m}`);
  });
  page.on('error', (err) => sink.add(`page crashed: ${err?.message ?? err}`));
  const timeout = Math.max(1000, deadline - Date.now());
  const resp = await page.goto(url, { waitUntil: 'load', timeout });
  if (resp && !resp.ok() && resp.status() !== 0) sink.add(`page load status ${resp.status()}`);
  await page.evaluate(pagePrepare);
  return page;
}

async function checkPage(browser, file, deadline, sink) {
  const url = pathToFileURL(path.resolve(file)).href;
  const problems = [];

  // Desktop: images and SVGs, document overflow, verdict contrast.
  sink.step = `loading at ${DESKTOP.width}x${DESKTOP.height}`;
  const desk = await openPage(browser, url, DESKTOP, sink, deadline);
  sink.step = `checking at ${DESKTOP.width}x${DESKTOP.height}`;
  problems.push(...await desk.evaluate(pageImagesAndSvgs));
  const dw = await desk.evaluate(pageDocWidths);
  if (dw.scrollWidth > dw.clientWidth + 1) {
    const off = await desk.evaluate(pageOverflowOffenders, DESKTOP.width, 1);
    const first = off.shown.length ? `; first element past the edge: ${off.shown[0]}` : '';
    problems.push(`desktop ${DESKTOP.width}x${DESKTOP.height}: horizontal overflow, document scrollWidth ${dw.scrollWidth} > clientWidth ${dw.clientWidth}${first}`);
  }
  problems.push(...await desk.evaluate(pageContrast, VERDICT_SELECTOR, MIN_CONTRAST));
  await desk.close();

  // Mobile: viewport meta, document overflow, elements past the edge.
  sink.step = `loading at ${MOBILE.width}x${MOBILE.height}`;
  const mob = await openPage(browser, url, MOBILE, sink, deadline);
  sink.step = `checking at ${MOBILE.width}x${MOBILE.height}`;
  const tag = `mobile ${MOBILE.width}x${MOBILE.height}`;
  const mobileOverflow = async (note) => {
    const w = await mob.evaluate(pageDocWidths);
    if (w.scrollWidth > w.clientWidth + 1) {
      problems.push(`${tag}${note}: horizontal overflow, document scrollWidth ${w.scrollWidth} > clientWidth ${w.clientWidth}`);
    }
    const off = await mob.evaluate(pageOverflowOffenders, MOBILE.width, MAX_OFFENDERS);
    for (const d of off.shown) problems.push(`${tag}${note}: past the right edge, not in a scroll box: ${d}`);
    if (off.more) problems.push(`${tag}${note}: ${off.more} more element(s) past the right edge, not in a scroll box`);
  };
  const mw = await mob.evaluate(pageDocWidths);
  if (!mw.hasViewportMeta) {
    problems.push(`no viewport meta tag (on a phone the page lays out ${mw.innerWidth}px wide and is shrunk to fit ${MOBILE.width}px)`);
  }
  await mobileOverflow('');
  if (!mw.hasViewportMeta) {
    // Say also what would still overflow once the tag is there.
    const w = await mob.evaluate(pageAddViewportMeta);
    if (w === MOBILE.width) await mobileOverflow(' (viewport meta width=device-width added by the checker)');
  }
  await mob.close();

  // Console errors, uncaught exceptions and external requests from both loads.
  for (const u of sink.external) problems.push(`external request: ${u}`);
  return [...sink.messages, ...problems];
}

function newSink() {
  const messages = [];
  const seen = new Set();
  return {
    messages,
    external: new Set(),
    pages: [],
    step: 'starting',
    add(m) { if (!seen.has(m)) { seen.add(m); messages.push(m); } },
  };
}

async function checkWithTimeout(browsers, file) {
  const deadline = Date.now() + PAGE_TIMEOUT_MS;
  const browser = await browsers.get();
  const sink = newSink();
  let timer;
  const work = checkPage(browser, file, deadline, sink);
  work.catch(() => {}); // may be abandoned on timeout
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new PageTimeout()), deadline - Date.now());
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (e) {
    if (e instanceof PageTimeout) {
      // The page may have wedged the (single-process) browser: start afresh.
      await browsers.kill();
      return [...sink.messages, `timed out after ${PAGE_TIMEOUT_MS / 1000} s (${sink.step})`];
    }
    const crashed = !browser.connected;
    if (crashed) await browsers.kill();
    return [...sink.messages, `${crashed ? 'browser crashed while checking the page: ' : 'check failed: '}${e.message.split('\n')[0]}`];
  } finally {
    clearTimeout(timer);
    for (const p of sink.pages) if (!p.isClosed()) p.close().catch(() => {});
  }
}

// -------------------------------------------------------------------- main

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`check-pages: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    process.stderr.write(`${USAGE}\nPrints {"pages":[{"file":...,"problems":[...]}]} on stdout; exit 0 clean, 1 problems, 2 usage error or no browser.\n`);
    return 0;
  }

  let puppeteer, chromium;
  try {
    ({ default: puppeteer } = await import('puppeteer-core'));
    ({ default: chromium } = await import('@sparticuz/chromium'));
  } catch (e) {
    process.stderr.write(`check-pages: cannot load puppeteer-core / @sparticuz/chromium (run \`npm ci\` in browser/): ${e.message}\n`);
    return 2;
  }

  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'check-pages-'));
  const cleanup = () => fs.rmSync(tmpRoot, { recursive: true, force: true });
  let browsers = null;
  const onSignal = (sig) => {
    try { browsers?.browser?.process()?.kill('SIGKILL'); } catch { /* gone */ }
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let exe;
    try {
      exe = await chromiumExecutable(chromium);
      ensureFonts(path.dirname(exe));
    } catch (e) {
      throw new BrowserStartError(`cannot unpack Chromium: ${e.message}`);
    }
    browsers = new Browser(puppeteer, chromium, exe, tmpRoot);
    await browsers.get(); // fail early (exit 2) if it cannot start at all

    const pages = [];
    for (const file of args.files) {
      pages.push({ file, problems: await checkWithTimeout(browsers, file) });
    }
    await browsers.close();
    const json = JSON.stringify({ pages });
    await new Promise((resolve) => process.stdout.write(`${json}\n`, resolve));
    return pages.some((p) => p.problems.length > 0) ? 1 : 0;
  } catch (e) {
    if (browsers) await browsers.kill();
    if (e instanceof BrowserStartError) {
      process.stderr.write(`check-pages: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`check-pages: internal error: ${e?.stack ?? e}\n`);
    process.exit(2);
  },
);
