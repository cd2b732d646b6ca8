import { propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes } from '../dev/pattern.js';
import { sequence } from './helpers/fault-proxy.js';
import { FaultStack } from './helpers/fault-stack.js';
import { download, waitFor } from './helpers/http-client.js';

const MIB = 1024 * 1024;
const SIZE = 2 * MIB;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';

const exporter = new InMemorySpanExporter();
let stack: FaultStack;

beforeAll(async () => {
  // As the OpenTelemetry Node SDK does when it is preloaded.
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  stack = await FaultStack.start();
  await stack.s3.put('images', 'test/1/image.jpg', patternBytes(0, SIZE));
});

afterEach(async () => {
  await stack.reset();
  exporter.reset();
});

afterAll(async () => {
  await stack?.stop();
  trace.disable();
  propagation.disable();
});

/** The spans of the request traced under TRACE_ID: its server span and its attempts. */
async function spansOfTrace(expectedAttempts: number) {
  const mine = () =>
    exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === TRACE_ID);
  const servers = () => mine().filter((span) => span.kind === SpanKind.SERVER);
  await waitFor(() => servers().length === 1, 'the server span');
  const [server] = servers() as [ReadableSpan];
  const attempts = mine().filter((span) => span.kind === SpanKind.CLIENT);
  expect(attempts).toHaveLength(expectedAttempts);
  for (const attempt of attempts) {
    expect(attempt.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
  }
  return { server, attempts };
}

const traced = { traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` };

describe('spans', () => {
  it('a server span per request, in the caller trace, with the stable HTTP attributes', async () => {
    const { url } = await stack.gateway({});
    const got = await download(`${url}/tasks/1/image?download=1`, { headers: traced });
    expect(got.status).toBe(200);

    const { server, attempts } = await spansOfTrace(1);
    expect(server.name).toBe('GET /tasks/:task_id/image');
    expect(server.parentSpanContext?.spanId).toBe(CALLER_SPAN_ID);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/tasks/:task_id/image',
      'http.response.status_code': 200,
      'url.path': '/tasks/1/image',
      'client.address': '127.0.0.1',
      'streamgate.outcome': 'complete',
    });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(attempts[0]?.name).toBe('source read');
    expect(attempts[0]?.attributes).toMatchObject({
      'streamgate.source': 'storage',
      'streamgate.source.key': 'test/1/image.jpg',
      'streamgate.source.attempt': 1,
      'streamgate.source.outcome': 'ok',
    });
  });

  it('names the client a trusted proxy forwards for as client.address', async () => {
    const { url } = await stack.gateway({ TRUST_PROXY: 'loopback' });
    const got = await download(`${url}/tasks/1/image`, {
      headers: { ...traced, 'x-forwarded-for': '203.0.113.7' },
    });
    expect(got.status).toBe(200);
    const { server } = await spansOfTrace(1);
    expect(server.attributes['client.address']).toBe('203.0.113.7');
  });

  it('a child span per attempt: stat, then the range read', async () => {
    const { url } = await stack.gateway({});
    await download(`${url}/tasks/1/image`, { headers: { ...traced, range: 'bytes=0-99' } });
    const { attempts } = await spansOfTrace(2);
    expect(attempts.map((span) => span.name)).toEqual(['source stat', 'source read']);
    expect(attempts[1]?.attributes['streamgate.source.range']).toBe('bytes=0-99');
  });

  it('retries and resumes show as attempts with their failure and offset', async () => {
    const { url } = await stack.gateway({ RETRY_ATTEMPTS: '2' });
    stack.s3Proxy.rule = sequence([
      { type: 'status', status: 503, code: 'SlowDown' },
      { type: 'cut', afterBytes: MIB },
    ]);
    const got = await download(`${url}/tasks/1/image`, { headers: traced });
    expect(got.complete).toBe(true);

    const { attempts } = await spansOfTrace(3);
    const [refused, cut, resumed] = attempts;
    expect(refused?.attributes['streamgate.source.outcome']).toBe('unavailable');
    expect(refused?.status.code).toBe(SpanStatusCode.ERROR);
    expect(cut?.attributes['streamgate.source.attempt']).toBe(2);
    const resumedFrom = resumed?.attributes['streamgate.source.resumed_from'];
    expect(typeof resumedFrom === 'number' && resumedFrom >= MIB / 2).toBe(true);
    expect(resumed?.attributes['streamgate.source.range']).toBe(`bytes=${resumedFrom}-${SIZE - 1}`);
  });

  it('a 5xx marks the server span as an error', async () => {
    const { url } = await stack.gateway({ RETRY_ATTEMPTS: '0' });
    stack.s3Proxy.rule = sequence([{ type: 'status', status: 500, code: 'InternalError' }]);
    const got = await download(`${url}/tasks/1/image`, { headers: traced });
    expect(got.status).toBe(502);
    const { server } = await spansOfTrace(1);
    expect(server.attributes['http.response.status_code']).toBe(502);
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
  });
});
