import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { type ObjectInfo, type Source, streamgate } from 'streamgate';
import { describe, expect, it } from 'vitest';

const CHUNK = 64 * 1024;
const INFO: ObjectInfo = {
  size: 4 * CHUNK,
  etag: '"v1"',
  lastModified: undefined,
  contentType: undefined,
  cacheControl: undefined,
  acceptRanges: true,
};

/** A team's source whose body sends one chunk, then fails `afterMs` later (a reset). */
class BreakingSource implements Source {
  readonly bodies: Readable[] = [];
  constructor(private readonly afterMs: number) {}
  async stat() {
    return { ...INFO };
  }
  async read() {
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(CHUNK, 1));
    setTimeout(() => body.destroy(new Error('ECONNRESET')), this.afterMs);
    this.bodies.push(body);
    return { info: { ...INFO }, range: undefined, body };
  }
  async probe() {}
  async close() {}
}

// No stream-event subscriber in this file: with none, nothing but Fastify listens to a body.
describe('reply.sendObject in an app with an asynchronous onSend hook', () => {
  it('answers an error status, without crashing, when the body fails while the hook runs', async () => {
    const app = Fastify({ logger: false });
    const source = new BreakingSource(20);
    await app.register(streamgate, { sources: { s: source }, retry: { resumeAttempts: 0 } });
    app.addHook('onSend', async (_request, _reply, payload) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return payload;
    });
    app.get('/object', (_request, reply) => reply.sendObject('s', 'k'));
    try {
      const response = await app.inject({ url: '/object' });
      // It failed before its headers were written: an error status, never a 200 cut short.
      expect(response.statusCode).toBe(500);
      expect(response.body).not.toContain('ECONNRESET');
      expect(source.bodies[0]?.destroyed).toBe(true);
    } finally {
      await app.close();
    }
  });
});
