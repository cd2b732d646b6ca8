/**
 * The throttled origin: the nginx origin behind bench/throttle-proxy.ts, which caps every
 * connection at a set rate, as one connection to a far object store is capped. One large
 * download through nginx proxy_pass and through streamgate with and without parallel parts
 * shows what PARALLEL_PARTS buys when one connection is the bottleneck.
 */
import path from 'node:path';
import { freePort, startChild, waitForHttp } from './children.js';
import { MIB } from './config.js';
import { BUCKET, type Origin, objectKey, startNginxOrigin } from './origins.js';
import { nginxProxy, type PathSpec, type RunningPath, streamgateWith } from './paths.js';
import { downloadsInRounds, type Progress, type SingleResult } from './workloads.js';

export const THROTTLED_ORIGIN = 'nginx (throttled)';

/** The one workload of the throttled origin and its rate cap. */
export const THROTTLED_PLAN = { bytes: 200 * MIB, runs: 3, bytesPerSecond: 32 * MIB };

/** What the throttled origin measured, per path. */
export interface ThrottledOriginResult {
  bytes: number;
  runs: number;
  bytesPerSecond: number;
  targets: { path: string; download?: SingleResult; error?: string }[];
}

/** The paths compared on it. */
export function throttledPaths(): PathSpec[] {
  return [
    nginxProxy,
    streamgateWith('streamgate PARALLEL_PARTS=1', { PARALLEL_PARTS: '1' }),
    streamgateWith('streamgate PARALLEL_PARTS=4', { PARALLEL_PARTS: '4' }),
  ];
}

/** The nginx origin with the object, behind the rate-capping proxy. */
export async function startThrottledOrigin(
  nginx: string,
  directory: string,
  buildDir: string,
): Promise<Origin> {
  const inner = await startNginxOrigin(nginx, directory, 1, [THROTTLED_PLAN.bytes]);
  try {
    const port = await freePort();
    const proxy = startChild(process.execPath, [path.join(buildDir, 'throttle-proxy.js')], {
      PORT: String(port),
      ORIGIN_URL: inner.endpoint,
      RATE_BYTES_PER_S: String(THROTTLED_PLAN.bytesPerSecond),
    });
    const endpoint = `http://127.0.0.1:${port}`;
    await waitForHttp(`${endpoint}/${BUCKET}/${objectKey(THROTTLED_PLAN.bytes)}`, proxy, {
      accept: (status) => status === 200,
    }).catch(async (error: unknown) => {
      await proxy.stop();
      throw error;
    });
    return {
      ...inner,
      name: THROTTLED_ORIGIN,
      endpoint,
      stop: async () => {
        await proxy.stop();
        await inner.stop();
      },
    };
  } catch (error) {
    await inner.stop();
    throw error;
  }
}

/** One sha256-checked download, then the median of `THROTTLED_PLAN.runs` timed ones. */
export async function throttledOriginDownload(
  running: RunningPath,
  progress: Progress,
): Promise<SingleResult> {
  const [result] = await downloadsInRounds(
    [running],
    THROTTLED_PLAN.bytes,
    THROTTLED_PLAN.runs,
    progress,
  );
  if (result instanceof Error) throw result;
  if (result === undefined) throw new Error('no download result');
  return result;
}
