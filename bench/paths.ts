/**
 * The ways a client can reach an origin's objects, each started as its own process tree on a
 * free port of 127.0.0.1: straight to the origin, through nginx proxy_pass, a raw TCP relay, a
 * bare Node proxy and the same in Fastify, streamgate (with WORKERS processes, and with one)
 * and the naive buffered port.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { type Child, freePort, startChild, waitForHttp } from './children.js';
import { proxySite, startNginx } from './nginx.js';
import { BUCKET, KEY_TEMPLATE, type Origin, objectKey } from './origins.js';

/** What the paths need besides the origin. */
export interface PathContext {
  workers: number;
  /** Object sizes the path will be asked for. */
  sizes: number[];
  /** Where the bench's own servers (bare proxy, relay, naive port) were compiled to. */
  buildDir: string;
  /** A scratch directory of this path alone. */
  scratchDir: string;
  nginx: string | undefined;
}

/** A started path: where each object is, and the process tree to measure (none for direct). */
export interface RunningPath {
  url(bytes: number): string;
  /** Headers every request must carry (the origin's Host when a relay cannot rewrite it). */
  headers: Record<string, string>;
  root: number | undefined;
  stop(): Promise<void>;
}

export interface PathSpec {
  name: string;
  /** Whether a slow 1 GiB reader tells something about it (gateways that stream). */
  throttled: boolean;
  /** Measured on small objects only (a configuration that matters only for them). */
  smallOnly?: boolean;
  /** Why it cannot run here, when it cannot (then it is listed with a note). */
  unavailable?(context: PathContext): string | undefined;
  start(origin: Origin, context: PathContext): Promise<RunningPath>;
}

/**
 * The path and query of each object at the origin: presigned (SigV4 in the query, valid for an
 * hour) when the origin checks signatures, so that paths which do not sign still get in.
 */
async function originPaths(origin: Origin, sizes: number[]): Promise<Map<number, string>> {
  const signer = new SignatureV4({
    service: 's3',
    region: origin.region,
    credentials: origin.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  const endpoint = new URL(origin.endpoint);
  const entries = await Promise.all(
    sizes.map(async (bytes): Promise<[number, string]> => {
      const objectPath = `/${BUCKET}/${objectKey(bytes)}`;
      if (!origin.checksSignatures) return [bytes, objectPath];
      const signed = await signer.presign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: endpoint.hostname,
          port: Number(endpoint.port),
          path: objectPath,
          // Query-string auth always covers an unsigned payload (RGW refuses any other hash).
          headers: { host: endpoint.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        },
        { expiresIn: 3600 },
      );
      return [
        bytes,
        `${objectPath}?${new URLSearchParams(signed.query as Record<string, string>)}`,
      ];
    }),
  );
  return new Map(entries);
}

/** A child that serves HTTP at baseUrl, ready once the smallest object answers 200. */
async function startServer(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  probe: string,
  headers: Record<string, string> = {},
): Promise<Child> {
  const child = startChild(command, args, env);
  try {
    await waitForHttp(probe, child, { accept: (status) => status === 200, headers });
    return child;
  } catch (error) {
    await child.stop();
    throw error;
  }
}

function ownServer(base: string, child: Child, url: (bytes: number) => string): RunningPath {
  return {
    url: (bytes) => base + url(bytes),
    headers: {},
    root: child.pid,
    stop: () => child.stop(),
  };
}

const direct: PathSpec = {
  name: 'direct',
  throttled: false,
  async start(origin, context) {
    const paths = await originPaths(origin, context.sizes);
    return {
      url: (bytes) => origin.endpoint + paths.get(bytes),
      headers: {},
      root: undefined,
      stop: async () => {},
    };
  },
};

export const nginxProxy: PathSpec = {
  name: 'nginx proxy_pass',
  throttled: false,
  unavailable: (context) => (context.nginx ? undefined : 'nginx is not installed'),
  async start(origin, context) {
    const paths = await originPaths(origin, context.sizes);
    const upstream = new URL(origin.endpoint).host;
    await mkdir(context.scratchDir, { recursive: true });
    const nginx = await startNginx(
      context.nginx as string,
      context.scratchDir,
      context.workers,
      proxySite(upstream),
    );
    return {
      url: (bytes) => nginx.baseUrl + paths.get(bytes),
      headers: {},
      root: nginx.child.pid,
      stop: () => nginx.child.stop(),
    };
  },
};

const tcpRelay: PathSpec = {
  name: 'raw TCP relay',
  throttled: true,
  async start(origin, context) {
    const paths = await originPaths(origin, context.sizes);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // The relay cannot rewrite Host, which a signature covers: the client sends the origin's.
    const headers: Record<string, string> = origin.checksSignatures
      ? { host: new URL(origin.endpoint).host }
      : {};
    const child = await startServer(
      process.execPath,
      [path.join(context.buildDir, 'tcp-relay.js')],
      { PORT: String(port), ORIGIN_URL: origin.endpoint, WORKERS: String(context.workers) },
      base + paths.get(Math.min(...context.sizes)),
      headers,
    );
    return { ...ownServer(base, child, (bytes) => paths.get(bytes) ?? ''), headers };
  },
};

/**
 * A bare proxy (`script`, compiled in the build directory) that signs and relays
 * `/{bucket}/{key}`, with `nodeFlags` and as many processes as `workers` says.
 */
function bareProxyPath(
  name: string,
  script: string,
  workers: (context: PathContext) => number,
  nodeFlags: () => string[] = () => [],
): PathSpec {
  return {
    name,
    throttled: true,
    async start(origin, context) {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const objectPath = (bytes: number) => `/${BUCKET}/${objectKey(bytes)}`;
      const child = await startServer(
        process.execPath,
        [...nodeFlags(), path.join(context.buildDir, script)],
        {
          PORT: String(port),
          ORIGIN_URL: origin.endpoint,
          AWS_REGION: origin.region,
          AWS_ACCESS_KEY_ID: origin.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: origin.credentials.secretAccessKey,
          WORKERS: String(workers(context)),
        },
        base + objectPath(Math.min(...context.sizes)),
      );
      return ownServer(base, child, objectPath);
    },
  };
}

const bareProxy = bareProxyPath('bare Node proxy', 'bare-proxy.js', (context) => context.workers);
/**
 * Beside streamgate (WORKERS=1): one process with the start script's Node flags, so that what
 * separates the two is streamgate's own code, and what separates it from the bare Node proxy is
 * the framework.
 */
const bareFastifyProxy = bareProxyPath(
  'bare Fastify proxy (1 process)',
  'fastify-proxy.js',
  () => 1,
  () => streamgateArgv().slice(0, -1),
);

/**
 * streamgate as `npm start` runs it: the Node flags of package.json's start script (such as the
 * young generation's size), then dist/main.js.
 */
export function streamgateArgv(): string[] {
  const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as {
    scripts: { start: string };
  };
  const [node, ...args] = packageJson.scripts.start.split(/\s+/);
  if (node !== 'node' || args.at(-1) !== 'dist/main.js') {
    throw new Error(
      `the start script is not "node [flags] dist/main.js": ${packageJson.scripts.start}`,
    );
  }
  return args;
}

/** The gateway's environment for `origin`, as README.md's Settings table describes it. */
function gatewayEnv(origin: Origin, port: number, workers: number): NodeJS.ProcessEnv {
  return {
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    WORKERS: String(workers),
    STORAGE_BACKEND: 's3',
    AWS_ENDPOINT_URL: origin.endpoint,
    AWS_REGION: origin.region,
    AWS_ACCESS_KEY_ID: origin.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: origin.credentials.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    S3_IMAGE_BUCKET: BUCKET,
    IMAGE_KEY_TEMPLATE: KEY_TEMPLATE,
    // The bytes route is not measured; keep even its configuration on loopback.
    UPSTREAM_BASE_URL: origin.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

function imageRoute(
  name: string,
  throttled: boolean,
  argv: (context: PathContext) => string[],
  workers: (context: PathContext) => number,
  settings: NodeJS.ProcessEnv = {},
): PathSpec {
  return {
    name,
    throttled,
    async start(origin, context) {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const route = (bytes: number) => `/tasks/${bytes}/image`;
      const env = { ...gatewayEnv(origin, port, workers(context)), ...settings };
      const probe = base + route(Math.min(...context.sizes));
      const child = await startServer(process.execPath, argv(context), env, probe);
      return ownServer(base, child, route);
    },
  };
}

/** streamgate (dist/main.js, WORKERS=1) with extra settings, such as PARALLEL_PARTS. */
export function streamgateWith(name: string, settings: NodeJS.ProcessEnv): PathSpec {
  return imageRoute(name, false, streamgateArgv, () => 1, settings);
}

/**
 * streamgate with metrics and its twin without (METRICS=false), for the paired comparison of
 * bench/metrics-cost.ts.
 */
export function metricsTwins(workers: number): { on: PathSpec; off: PathSpec } {
  const streamgate = streamgateArgv;
  const many = () => workers;
  return {
    on: imageRoute(`streamgate (WORKERS=${workers})`, false, streamgate, many),
    off: imageRoute(`streamgate, metrics off (WORKERS=${workers})`, false, streamgate, many, {
      METRICS: 'false',
    }),
  };
}

/** Every path, in the order of the tables; `workers` names the multi-process streamgate. */
export function allPaths(workers: number): PathSpec[] {
  const streamgate = streamgateArgv;
  return [
    direct,
    nginxProxy,
    tcpRelay,
    bareProxy,
    bareFastifyProxy,
    imageRoute(`streamgate (WORKERS=${workers})`, true, streamgate, (c) => c.workers),
    ...(workers > 1 ? [imageRoute('streamgate (WORKERS=1)', true, streamgate, () => 1)] : []),
    {
      // Hot small objects served from the per-process cache: no source request while fresh.
      ...imageRoute(
        `streamgate, cache on (WORKERS=${workers})`,
        false,
        streamgate,
        (c) => c.workers,
        {
          CACHE_MAX_BYTES: String(64 * 1024 * 1024),
          CACHE_TTL_MS: '1000',
        },
      ),
      smallOnly: true,
    },
    imageRoute(
      'naive buffered port',
      false,
      (context) => [path.join(context.buildDir, 'naive.js')],
      () => 1,
    ),
  ];
}
