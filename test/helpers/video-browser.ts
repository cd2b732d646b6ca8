import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';

const run = promisify(execFile);

export const VIDEO_DURATION_S = 20;
export const BROWSER_WAIT_MS = 30_000;

/**
 * A WebM with a keyframe every second (so a seek lands on one) and its cues at the end, which
 * Chromium fetches with a Range request before it can seek. Noise keeps the encoder at its bit
 * rate: about 5 MB, more than Chromium reads ahead, so a seek to the middle needs a new request.
 */
async function makeVideo(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const lavfi = `testsrc=duration=${VIDEO_DURATION_S}:size=320x240:rate=25,noise=alls=30:allf=t`;
  await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', lavfi]
      .concat(['-c:v', 'libvpx', '-b:v', '2M', '-minrate', '2M', '-maxrate', '2M', '-g', '25'])
      .concat(['-deadline', 'realtime', '-cpu-used', '8', '-f', 'webm', file]),
    { timeout: BROWSER_WAIT_MS },
  );
}

/** The task whose image the browser suites store their video as, and that image's route. */
export const VIDEO_TASK_ID = 7;
export const VIDEO_PATH = `/tasks/${VIDEO_TASK_ID}/image`;

/** Writes the video (see makeVideo) as the image of VIDEO_TASK_ID in the local store `dataDir`. */
export async function storeVideo(dataDir: string): Promise<{ size: number }> {
  const file = path.join(dataDir, 'images', 'test', String(VIDEO_TASK_ID), 'image.jpg');
  await makeVideo(file);
  return { size: (await stat(file)).size };
}

/** Debian's Chromium, headless, with nothing that reaches the network on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    timeout: BROWSER_WAIT_MS,
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
}

/**
 * Serves a page with one `<video id="v">` from another origin than the gateway, as a real site
 * would. `videoUrl` is asked for on every page load; `crossorigin` adds the attribute of that name.
 */
export async function startPageServer(
  videoUrl: () => string,
  crossorigin?: 'anonymous',
): Promise<{ url: string; origin: string; server: Server }> {
  const attribute = crossorigin ? ` crossorigin="${crossorigin}"` : '';
  const server = createServer((_request, response) => {
    const html = `<!doctype html><html><body>
<video id="v" muted playsinline preload="metadata"${attribute} src="${videoUrl()}"></video>
</body></html>`;
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return { url: `${origin}/`, origin, server };
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
export async function seekToMiddleAndPlay(page: Page, url: string) {
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url, { timeout: BROWSER_WAIT_MS });
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
  }, BROWSER_WAIT_MS);
  return { ...played, pageErrors };
}

/** The media error code the page's video ends with when it cannot load at all (0: none). */
export async function mediaErrorOnLoad(page: Page, url: string): Promise<number> {
  await page.goto(url, { timeout: BROWSER_WAIT_MS });
  return page.locator('#v').evaluate(
    (video: VideoLike, waitMs: number) =>
      new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(0), waitMs);
        const done = () => {
          clearTimeout(timer);
          resolve(video.error?.code ?? 0);
        };
        if (video.error) done();
        video.addEventListener('error', done);
      }),
    BROWSER_WAIT_MS,
  );
}
