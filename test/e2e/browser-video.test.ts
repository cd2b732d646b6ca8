import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import {
  launchChromium,
  seekToMiddleAndPlay,
  startPageServer,
  storeVideo,
  VIDEO_DURATION_S,
  VIDEO_PATH,
} from '../helpers/video-browser.js';

/** One answer of the gateway to the video URL; status 0 when the browser left before it. */
interface Exchange {
  range: string | undefined;
  ifNoneMatch: string | undefined;
  status: number;
  contentRange: string | undefined;
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
    const pages = await startPageServer(() => `${gateway.url}${VIDEO_PATH}`);
    cleanups.push(() => new Promise((done) => pages.server.close(done)));
    // A fresh context: its own empty HTTP cache.
    const context: BrowserContext = await browser.newContext();
    cleanups.push(() => context.close());
    return { exchanges, url: pages.url, context, etag: head.headers.get('etag') };
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'streamgate-browser-'));
    videoSize = (await storeVideo(dataDir)).size;
    browser = await launchChromium();
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
    expect(played.target).toBeGreaterThan(VIDEO_DURATION_S / 2 - 1);
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
