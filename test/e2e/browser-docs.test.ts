import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { BROWSER_WAIT_MS, launchChromium } from '../helpers/video-browser.js';

describe('a browser opens the API docs', () => {
  let dataDir: string;
  let gateway: RunningGateway;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'streamgate-docs-'));
    gateway = await startGateway({ STORAGE_BACKEND: 'fs', DATA_DIR: dataDir });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  // The first request builds the docs app; the UI's page, script, styles and the document follow.
  it('renders the Swagger UI with every route, each of its files answered by the gateway', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const answers: { url: string; status: number }[] = [];
      const failed: string[] = [];
      const pageErrors: string[] = [];
      page.on('response', (response) => {
        answers.push({ url: response.url(), status: response.status() });
      });
      page.on('requestfailed', (request) => failed.push(request.url()));
      page.on('pageerror', (error) => pageErrors.push(error.message));

      await page.goto(`${gateway.url}/docs`, { timeout: BROWSER_WAIT_MS });
      const operations = page.locator('.opblock-summary-path');
      await operations.first().waitFor({ timeout: BROWSER_WAIT_MS });
      const paths = await operations.allTextContents();
      for (const route of ['/tasks/{task_id}/image', '/tasks/{task_id}/bytes/{size}', '/healthz']) {
        expect(paths.map((text) => text.replace(/\u200b/g, ''))).toContain(route);
      }
      expect(await page.locator('.info .title').textContent()).toContain('streamgate');

      expect(pageErrors).toEqual([]);
      expect(failed).toEqual([]);
      const fromGateway = answers.filter((answer) => answer.url.startsWith(gateway.url));
      expect(fromGateway.map((answer) => new URL(answer.url).pathname)).toEqual(
        expect.arrayContaining(['/docs/static/swagger-ui-bundle.js', '/docs/json']),
      );
      for (const answer of fromGateway)
        expect([200, 302, 304], answer.url).toContain(answer.status);
    } finally {
      await context.close();
    }
  });
});
