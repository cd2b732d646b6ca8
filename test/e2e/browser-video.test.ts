import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';

const run = promisify(execFile);

const TASK_ID = 7;
const VIDEO_PATH = `/tasks/${TASK_ID}/image`;
const DURATION_S = 20;
const WAIT_MS = 30_000;

/** One answer of the gateway to the video URL; status 0 when the browser left before it. */
interface Exchange {
  range: string | undefined;
  ifNoneMatch: string | undefined;
  status: number;
  contentRange: string | undefined;
}

/**
 * A WebM with a keyframe every second (so a seek lands on one) and its cues at the end, which
 * Chromium fetches with a Range request before it can seek. Noise keeps the encoder at its bit
 * rate: about 5 MB, more than Chromium reads ahead, so a seek to the middle needs a new request.
 */
async function makeVideo(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const lavfi = `testsrc=duration=${DURATION_S}:size=320x240:rate=25,noise=alls=30:allf=t`;
  await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', lavfi]
      .concat(['-c:v', 'libvpx', '-b:v', '2M', '-minrate', '2M', '-maxrate', '2M', '-g', '25'])
      .concat(['-deadline', 'realtime', '-cpu-used', '8', '-f', 'webm', file]),
    { timeout: WAIT_MS },
  );
}

/** Serves the page from another origin than the gateway, as a real site would. */
async function startPageServer(videoUrl: string): Promise<{ url: string; server: Server }> {
  const html = `<!doctype html><html><body>
<video id="v" muted playsinline preload="metadata" src="${videoUrl}"></video>
</body></html>`;
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, server };
}

function header(value: string | number | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Records every answer to the video URL when its socket is done with it. */
function recordExchanges(gateway: RunningGateway): Exchange[] {
  const exchanges: Exchange[] = [];
  gateway.app.server.on('request', (request, response) => {
    if (request.url !== VIDEO_PATH) return;
    response.once('close', () => {
      exchanges.push({
        range: request.headers.range,
        ifNoneMatch: request.headers['if-none-match'],
        status: response.headersSent ? response.statusCode : 0,
        // Fastify sets a streamed answer's headers one by one, so they can be read back here.
        contentRange: header(response.getHeader('content-range')),
      });
    });
  });
  return exchanges;
}

/** What the test uses of an HTMLVideoElement; the project compiles without the DOM library. */
interface VideoLike {
  readyState: number;
  duration: number;
  currentTime: number;
  error: { code: number } | null;
  play(): Promise<void>;
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** Loads the page, seeks to the middle, plays, and tells where it seeked and how far it got. */
async function seekToMiddleAndPlay(page: Page, url: string) {
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url, { timeout: WAIT_MS });
  // Runs in the page; every wait there is bounded by its own timer.
  const played = await page.locator('#v').evaluate(async (video: VideoLike, waitMs: number) => {
    const until = (event: string, done: () => boolean, what: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          video.removeEventListener(event, check);
          resolve();
        };
        const timer = setTimeout(() => {
          video.removeEventListener(event, check);
          reject(new Error(`no ${what} within ${waitMs} ms (error ${video.error?.code})`));
        }, waitMs);
        video.addEventListener(event, check);
        check();
      });
    await until('loadedmetadata', () => video.readyState >= 1, 'metadata');
    const target = video.duration / 2;
    let seeked = false;
    video.addEventListener('seeked', () => {
      seeked = true;
    });
    const landed = until('seeked', () => seeked, 'seek');
    video.currentTime = target;
    await landed;
    await video.play();
    // Playing past the seek point proves the frames there were fetched and decoded.
    await until('timeupdate', () => video.currentTime > target + 1, 'playback');
    return { target, reached: video.currentTime, mediaError: video.error?.code ?? 0 };
  }, WAIT_MS);
  return { ...played, pageErrors };
}

function rangeStart(exchange: Exchange): number {
  return Number(/^bytes=(\d+)-/.exec(exchange.range ?? '')?.[1] ?? Number.NaN);
}

describe('a browser plays a video from the gateway and seeks into it', () => {
  let dataDir: string;
  let videoSize: number;
  let browser: Browser;
  const cleanups: Array<() => Promise<unknown>> = [];

  /** A gateway with the given Cache-Control, a page that plays from it, and its log. */
  async function scene(cacheControl: string) {
    const gateway = await startGateway({
      STORAGE_BACKEND: 'fs',
      DATA_DIR: dataDir,
      CACHE_CONTROL: cacheControl,
    });
    cleanups.push(() => gateway.close());
    const head = await fetch(`${gateway.url}${VIDEO_PATH}`, { method: 'HEAD' });
    const exchanges = recordExchanges(gateway);
    const pages = await startPageServer(`${gateway.url}${VIDEO_PATH}`);
    cleanups.push(() => new Promise((done) => pages.server.close(done)));
    // A fresh context: its own empty HTTP cache.
    const context: BrowserContext = await browser.newContext();
    cleanups.push(() => context.close());
    return { exchanges, url: pages.url, context, etag: head.headers.get('etag') };
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'streamgate-browser-'));
    const file = path.join(dataDir, 'images', 'test', String(TASK_ID), 'image.jpg');
    await makeVideo(file);
    videoSize = (await stat(file)).size;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      timeout: WAIT_MS,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await browser?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('seeks with Range requests answered 206 and plays from the seek point', async () => {
    // no-store keeps Chromium's HTTP cache out of the way: every byte comes from the gateway.
    const { exchanges, url, context } = await scene('no-store');
    const played = await seekToMiddleAndPlay(await context.newPage(), url);

    expect(played.pageErrors).toEqual([]);
    expect(played.mediaError).toBe(0);
    expect(played.target).toBeGreaterThan(DURATION_S / 2 - 1);
    expect(played.reached).toBeGreaterThan(played.target + 1);

    const answered = exchanges.filter((exchange) => exchange.status !== 0);
    expect(answered.length).toBeGreaterThan(1);
    for (const exchange of answered) {
      expect(exchange.range).toMatch(/^bytes=\d+-\d*$/);
      expect(exchange.status).toBe(206);
      const start = rangeStart(exchange);
      expect(exchange.contentRange).toMatch(new RegExp(`^bytes ${start}-\\d+/${videoSize}$`));
    }
    // The seek to the middle of a constant-rate video asked for bytes near the middle.
    const starts = answered.map(rangeStart);
    expect(starts.some((start) => start > videoSize * 0.3 && start < videoSize * 0.7)).toBe(true);
  });

  it('revalidates its cached copy (304 before Range) and plays from the seek point', async () => {
    const { exchanges, url, context, etag } = await scene('no-cache');
    expect(etag).toMatch(/^"[^"]+"$/);
    // Two visits: the second finds the first one's bytes in the browser's cache.
    for (let visit = 0; visit < 2; visit++) {
      const page = await context.newPage();
      const played = await seekToMiddleAndPlay(page, url);
      expect(played.pageErrors).toEqual([]);
      expect(played.mediaError).toBe(0);
      expect(played.reached).toBeGreaterThan(played.target + 1);
      await page.close();
    }

    const answered = exchanges.filter((exchange) => exchange.status !== 0);
    for (const exchange of answered) {
      if (exchange.status === 304) {
        // If-None-Match is evaluated before Range (RFC 9110 §13.2.2): the copy is current.
        expect(exchange.ifNoneMatch).toBe(etag);
      } else {
        expect(exchange.status).toBe(206);
        const start = rangeStart(exchange);
        expect(exchange.contentRange).toMatch(new RegExp(`^bytes ${start}-\\d+/${videoSize}$`));
      }
    }
    expect(answered.some((exchange) => exchange.status === 304)).toBe(true);
  });
});
