import { type LocalS3, startLocalS3 } from '../../dev/s3-server.js';
import { type LocalUpstream, startLocalUpstream } from '../../dev/upstream-server.js';
import { FaultProxy } from './fault-proxy.js';
import { type RunningGateway, s3Env, startGateway } from './gateway.js';

/**
 * s3rver (bucket `images`) and the local upstream, each behind a fault-injecting proxy, with
 * fresh gateways in front of both proxies, so that no pooled connection hides a fault.
 */
export class FaultStack {
  readonly #gateways: RunningGateway[] = [];

  private constructor(
    readonly s3: LocalS3,
    readonly upstream: LocalUpstream,
    readonly s3Proxy: FaultProxy,
    readonly upstreamProxy: FaultProxy,
  ) {}

  static async start(): Promise<FaultStack> {
    const [s3, upstream] = await Promise.all([startLocalS3(['images']), startLocalUpstream()]);
    const [s3Proxy, upstreamProxy] = await Promise.all([
      FaultProxy.start(s3.endpoint),
      FaultProxy.start(upstream.baseUrl),
    ]);
    return new FaultStack(s3, upstream, s3Proxy, upstreamProxy);
  }

  /** A gateway on S3 and on the upstream's `/range/{size}`, both through the proxies. */
  async gateway(env: Record<string, string>): Promise<RunningGateway> {
    const running = await startGateway({
      ...s3Env({ endpoint: this.s3Proxy.url }),
      S3_IMAGE_BUCKET: 'images',
      UPSTREAM_BASE_URL: this.upstreamProxy.url,
      UPSTREAM_PATH_TEMPLATE: '/range/{size}',
      RETRY_BACKOFF_MS: '10',
      ...env,
    });
    this.#gateways.push(running);
    return running;
  }

  /** Between tests: close the gateways, clear the faults and the counters. */
  async reset(): Promise<void> {
    await Promise.all(this.#gateways.splice(0).map((running) => running.close()));
    for (const proxy of [this.s3Proxy, this.upstreamProxy]) {
      proxy.rule = () => undefined;
      proxy.closeConnections();
      proxy.resetCounters();
    }
  }

  async stop(): Promise<void> {
    await this.reset();
    await Promise.all([this.s3Proxy.stop(), this.upstreamProxy.stop()]);
    await Promise.all([this.upstream.stop(), this.s3.stop()]);
  }
}
