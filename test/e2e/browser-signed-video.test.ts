import { rm } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUrl } from '../../src/auth/signed-url.js';
import {
  type ImageStore,
  imageStore,
  type LoggedGateway,
  signedUrlKeys,
  signingKey,
  startLoggedGateway,
} from '../helpers/access-fixtures.js';
import {
  launchChromium,
  mediaErrorOnLoad,
  seekToMiddleAndPlay,
  startPageServer,
  storeVideo,
  VIDEO_PATH,
  VIDEO_TASK_ID,
} from '../helpers/video-browser.js';

const KEY = signingKey('browser');
const MEDIA_ERR_SRC_NOT_SUPPORTED = 4;

/** One answer of the gateway to the video path, as the browser's socket saw it end. */
interface Exchange {
  origin: string | undefined;
  range: string | undefined;
  status: number;
  allowOrigin: unknown;
  contentRange: unknown;
}

function recordExchanges(gateway: LoggedGateway): Exchange[] {
  const exchanges: Exchange[] = [];
  gateway.app.server.on('request', (request, response) => {
    if (!request.url?.startsWith(VIDEO_PATH)) return;
    response.once('close', () => {
      exchanges.push({
        origin: request.headers.origin,
        range: request.headers.range,
        status: response.headersSent ? response.statusCode : 0,
        allowOrigin: response.getHeader('access-control-allow-origin'),
        contentRange: response.getHeader('content-range'),
      });
    });
  });
  return exchanges;
}

describe('a page on another origin plays a video through a signed URL, with CORS', () => {
  let store: ImageStore;
  let videoSize: number;
  let browser: Browser;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    store = await imageStore();
    videoSize = (await storeVideo(store.dataDir)).size;
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await browser?.close();
    if (store) await rm(store.dataDir, { recursive: true, force: true });
  });

  /** The page server first (its origin goes into CORS_ORIGINS), then the gateway. */
  async function scene(videoPath: () => string) {
    let gatewayUrl = '';
    const pages = await startPageServer(() => `${gatewayUrl}${videoPath()}`, 'anonymous');
    cleanups.push(() => new Promise((done) => pages.server.close(done)));
    const gateway = await startLoggedGateway({
      DATA_DIR: store.dataDir,
      CACHE_CONTROL: 'no-store',
      SIGNED_URL_KEYS: signedUrlKeys(KEY),
      CORS_ORIGINS: pages.origin,
    });
    cleanups.push(() => gateway.close());
    gatewayUrl = gateway.url;
    const context = await browser.newContext();
    cleanups.push(() => context.close());
    return { page: await context.newPage(), url: pages.url, origin: pages.origin, gateway };
  }

  it('seeks with Range requests answered 206 with the page origin allowed', async () => {
    const { page, url, origin, gateway } = await scene(() => signUrl(VIDEO_PATH, KEY));
    const exchanges = recordExchanges(gateway);
    const played = await seekToMiddleAndPlay(page, url);

    expect(played.pageErrors).toEqual([]);
    expect(played.mediaError).toBe(0);
    expect(played.reached).toBeGreaterThan(played.target + 1);

    const answered = exchanges.filter((exchange) => exchange.status !== 0);
    expect(answered.length).toBeGreaterThan(1);
    for (const exchange of answered) {
      // `crossorigin` makes every media request a CORS request.
      expect(exchange.origin).toBe(origin);
      expect(exchange.status).toBe(206);
      expect(exchange.allowOrigin).toBe(origin);
      expect(exchange.range).toMatch(/^bytes=\d+-\d*$/);
      expect(exchange.contentRange).toMatch(new RegExp(`^bytes \\d+-\\d+/${videoSize}$`));
    }
    const starts = answered.map((exchange) =>
      Number(/^bytes=(\d+)-/.exec(exchange.range ?? '')?.[1]),
    );
    expect(starts.some((start) => start > videoSize * 0.3 && start < videoSize * 0.7)).toBe(true);
  });

  it('cannot play it without a signature, nor with a URL signed for another task', async () => {
    const otherTask = `/tasks/${VIDEO_TASK_ID + 1}/image`;
    for (const videoPath of [
      () => VIDEO_PATH,
      () => signUrl(otherTask, KEY).replace(otherTask, VIDEO_PATH),
    ]) {
      const { page, url, gateway } = await scene(videoPath);
      const exchanges = recordExchanges(gateway);
      expect(await mediaErrorOnLoad(page, url)).toBe(MEDIA_ERR_SRC_NOT_SUPPORTED);
      const statuses = exchanges.map((exchange) => exchange.status).filter((status) => status);
      expect(statuses.length).toBeGreaterThan(0);
      expect(new Set(statuses)).toEqual(new Set([401]));
    }
  });
});
