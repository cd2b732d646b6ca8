import { describe, it } from 'vitest';
import { createLocalSource, createS3Source, createUpstreamSource } from './factories.js';

describe('the sources the factories make', () => {
  // Two plugin registrations given one source each close it when the app closes.
  it('close a second time without failing', async () => {
    const sources = [
      createS3Source({
        bucket: 'b',
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      }),
      createUpstreamSource({ baseUrl: 'http://127.0.0.1:9' }),
      createLocalSource({ root: '/nonexistent', bucket: 'b' }),
    ];
    for (const source of sources) {
      await source.close();
      await source.close();
    }
  });
});
