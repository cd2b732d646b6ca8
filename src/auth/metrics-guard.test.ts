import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandlerPlugin } from '../plugins/error-handler.js';
import { metricsGuard } from './metrics-guard.js';

async function metricsApp(token: string | undefined) {
  const app = Fastify({ logger: false });
  await app.register(errorHandlerPlugin);
  app.get('/metrics', { preHandler: metricsGuard(token) }, async () => 'up 1\n');
  await app.ready();
  return app;
}

describe('metricsGuard', () => {
  it('lets everything through without a token', async () => {
    const app = await metricsApp(undefined);
    expect((await app.inject('/metrics')).statusCode).toBe(200);
    await app.close();
  });

  it('requires Authorization: Bearer <token> when one is set', async () => {
    const token = 'metrics-token-0123456789';
    const app = await metricsApp(token);
    const ask = (authorization?: string) =>
      app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} });
    for (const right of [`Bearer ${token}`, `bearer ${token}`, `BEARER  ${token} `]) {
      expect((await ask(right)).statusCode, right).toBe(200);
    }
    for (const wrong of [undefined, token, `Bearer ${token}x`, `Basic ${token}`, 'Bearer ']) {
      const answer = await ask(wrong);
      expect(answer.statusCode, String(wrong)).toBe(401);
      expect(answer.json()).toEqual({ detail: 'Not authenticated' });
      expect(answer.headers['www-authenticate']).toBe('Bearer');
    }
    await app.close();
  });
});
