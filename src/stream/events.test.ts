import { once } from 'node:events';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  reportSent,
  type StreamEndMessage,
  type StreamStartMessage,
  streamEnd,
  streamStart,
} from './events.js';

const scope = { route: 'getImage', source: 'storage' };

describe('reportSent (a body sent whole from memory)', () => {
  const starts: StreamStartMessage[] = [];
  const ends: StreamEndMessage[] = [];
  const unsubscribe = [
    streamStart.subscribe((message) => starts.push(message)),
    streamEnd.subscribe((message) => ends.push(message)),
  ];
  afterEach(() => {
    starts.length = 0;
    ends.length = 0;
  });
  afterAll(() => {
    for (const stop of unsubscribe) stop();
  });

  const response = () => new Writable({ write: (_chunk, _encoding, done) => done() });

  it('starts at once and ends complete, with every byte, when the response finishes', async () => {
    const sent = response();
    reportSent(sent, scope, 4096);
    expect(starts).toEqual([{ scope, length: 4096 }]);
    expect(ends).toEqual([]);
    sent.end(Buffer.alloc(4096));
    await once(sent, 'close');
    expect(ends).toEqual([
      { scope, outcome: 'complete', bytesFromSource: 0, bytesToClient: 4096, resumes: 0 },
    ]);
  });

  it('ends client_aborted, with no byte counted, when the response closes unfinished', async () => {
    const sent = response();
    reportSent(sent, scope, 4096);
    sent.destroy();
    await once(sent, 'close');
    expect(ends).toEqual([
      { scope, outcome: 'client_aborted', bytesFromSource: 0, bytesToClient: 0, resumes: 0 },
    ]);
  });

  it('publishes nothing for a request no one observes', async () => {
    const sent = response();
    reportSent(sent, undefined, 4096);
    sent.end();
    await once(sent, 'close');
    expect([starts, ends]).toEqual([[], []]);
  });
});
