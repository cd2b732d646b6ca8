import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY } from '../../dev/s3-server.js';
import { type AppOptions, buildApp } from '../../src/app.js';
import { loadSettings } from '../../src/settings.js';
import type { SourceClients } from '../../src/sources/index.js';

/** The gateway settings that serve the image route from an S3 endpoint with static keys. */
export function s3Env(
  s3: { endpoint: string },
  credentials = { accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY },
): Record<string, string> {
  return {
    STORAGE_BACKEND: 's3',
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
}

export interface RunningGateway {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/**
 * Builds the gateway from an environment (as main.ts does from process.env) and listens on an
 * ephemeral port of 127.0.0.1.
 */
export async function startGateway(
  env: Record<string, string>,
  clients: SourceClients = {},
  options: AppOptions = {},
): Promise<RunningGateway> {
  const settings = loadSettings({ LOG_LEVEL: 'silent', ...env, HOST: '127.0.0.1', PORT: '0' });
  const app = buildApp(settings, clients, options);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
