import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { smithyS3Signer, smithySign } from '../../../test/helpers/smithy-signer.js';
import {
  amzDate,
  canonicalRequest,
  encodeKeyPath,
  SigV4Signer,
  UNSIGNED_PAYLOAD,
} from './sigv4.js';

interface SuiteCase {
  name: string;
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  body?: string;
  sessionToken?: boolean;
  signature: string;
  signedHeaders: string;
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/sigv4-vectors.json', import.meta.url), 'utf8'),
) as {
  suite: {
    region: string;
    service: string;
    accessKeyId: string;
    secretAccessKey: string;
    date: string;
    stsToken: string;
  };
  cases: SuiteCase[];
  s3: {
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    date: string;
    host: string;
    path: string;
    headers: Record<string, string>;
    payloadHash: string;
    signature: string;
    signedHeaders: string;
  };
};

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

function parseAuthorization(value: string): { credential: string; signed: string; sig: string } {
  const match =
    /^AWS4-HMAC-SHA256 Credential=(\S+), SignedHeaders=(\S+), Signature=([0-9a-f]{64})$/.exec(
      value,
    );
  if (!match) throw new Error(`unexpected authorization ${value}`);
  return { credential: match[1] ?? '', signed: match[2] ?? '', sig: match[3] ?? '' };
}

describe('SigV4 on the AWS test suite', () => {
  const { suite } = vectors;
  const signer = new SigV4Signer(suite.region, suite.service);

  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', (_name, vector) => {
    const credentials = {
      accessKeyId: suite.accessKeyId,
      secretAccessKey: suite.secretAccessKey,
      sessionToken: vector.sessionToken ? suite.stsToken : undefined,
    };
    const headers = signer.sign(
      {
        method: vector.method,
        path: encodeKeyPath(vector.path),
        query: vector.query,
        headers: { host: 'example.amazonaws.com', ...vector.headers },
        payloadHash: sha256Hex(vector.body ?? ''),
      },
      credentials,
      new Date(suite.date),
    );
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    const authorization = parseAuthorization(headers.authorization);
    expect(authorization.credential).toBe('AKIDEXAMPLE/20150830/us-east-1/service/aws4_request');
    expect(authorization.signed).toBe(vector.signedHeaders);
    expect(authorization.sig).toBe(vector.signature);
    expect(headers['x-amz-security-token']).toBe(credentials.sessionToken);
  });

  it('signs the S3 GET Object example of the S3 documentation', () => {
    const { s3 } = vectors;
    const headers = new SigV4Signer(s3.region, 's3').sign(
      {
        method: 'GET',
        path: s3.path,
        headers: { host: s3.host, ...s3.headers, 'x-amz-content-sha256': s3.payloadHash },
        payloadHash: s3.payloadHash,
      },
      { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      new Date(s3.date),
    );
    const authorization = parseAuthorization(headers.authorization);
    expect(authorization.signed).toBe(s3.signedHeaders);
    expect(authorization.sig).toBe(s3.signature);
  });
});

describe('S3 canonical request', () => {
  it('puts the session token among the signed headers', () => {
    const { text, signedHeaders } = canonicalRequest(
      { method: 'GET', path: '/k', headers: { host: 'h' }, payloadHash: UNSIGNED_PAYLOAD },
      { 'x-amz-date': '20260101T000000Z', 'x-amz-security-token': 'TOKEN/+=' },
    );
    expect(signedHeaders).toBe('host;x-amz-date;x-amz-security-token');
    expect(text).toBe(
      'GET\n/k\n\nhost:h\nx-amz-date:20260101T000000Z\nx-amz-security-token:TOKEN/+=\n\nhost;x-amz-date;x-amz-security-token\nUNSIGNED-PAYLOAD',
    );
  });

  it.each([
    ['a b/c', 'a%20b/c'],
    ['ü/ሴ.jpg', '%C3%BC/%E1%88%B4.jpg'],
    ["+&=$@!()'*,", '%2B%26%3D%24%40%21%28%29%27%2A%2C'],
    ['a//b/../c/./d', 'a//b/../c/./d'],
    ['-._~', '-._~'],
    ['%41?#', '%2541%3F%23'],
  ])('encodes the key %j as %j, segment by segment and unnormalised', (key, path) => {
    expect(encodeKeyPath(key)).toBe(path);
  });

  it('formats the amz date', () => {
    expect(amzDate(new Date('2026-02-03T04:05:06.789Z'))).toBe('20260203T040506Z');
  });

  it('derives the signing key once a day per secret', () => {
    const signer = new SigV4Signer('us-east-1', 's3');
    const request = {
      method: 'GET',
      path: '/',
      headers: { host: 'h' },
      payloadHash: UNSIGNED_PAYLOAD,
    };
    const a = { accessKeyId: 'A', secretAccessKey: 'one' };
    const b = { accessKeyId: 'A', secretAccessKey: 'two' };
    const day = new Date('2026-01-01T10:00:00Z');
    const first = signer.sign(request, a, day).authorization;
    // Another secret and another day each need their own key, never the cached one.
    expect(signer.sign(request, b, day).authorization).not.toBe(first);
    expect(signer.sign(request, a, day).authorization).toBe(first);
    expect(signer.sign(request, a, new Date('2026-01-02T10:00:00Z')).authorization).not.toBe(first);
  });
});

const KEY_ALPHABET = [
  ...'abcXYZ019 -._~/+&=$@!()\'*,;:?#[]%"<>\\^`{|}',
  'ü',
  'é',
  'ሴ',
  '😀',
  '\u00a0',
];

function randomKey(length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => KEY_ALPHABET[byte % KEY_ALPHABET.length]).join('');
}

describe('SigV4 against @smithy/signature-v4', () => {
  it('signs 500 random keys, secrets, dates, ranges and tokens the same way', async () => {
    for (let i = 0; i < 500; i++) {
      const credentials = {
        accessKeyId: randomBytes(10).toString('hex').toUpperCase(),
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: i % 3 === 0 ? randomBytes(60).toString('base64') : undefined,
      };
      const region = ['us-east-1', 'eu-west-3', 'default'][i % 3] as string;
      const now = new Date(Date.UTC(2020, 0, 1) + Math.floor(Math.random() * 3e11));
      const path = `/bucket-${i}/${encodeKeyPath(randomKey(1 + (i % 40)))}`;
      const headers: Record<string, string> = { 'x-amz-content-sha256': UNSIGNED_PAYLOAD };
      if (i % 2 === 0) headers.range = `bytes=${i}-${i * 7 + 3}`;
      if (i % 5 === 0) headers['if-match'] = `"${randomBytes(16).toString('hex')}"`;
      const method = i % 4 === 0 ? 'HEAD' : 'GET';
      const host = '127.0.0.1:9000';
      const ours = new SigV4Signer(region, 's3').sign(
        { method, path, headers: { host, ...headers }, payloadHash: UNSIGNED_PAYLOAD },
        credentials,
        now,
      );
      const reference = await smithySign(
        smithyS3Signer(region, credentials),
        { method, host, path, headers },
        now,
      );
      expect(ours.authorization, path).toBe(reference.authorization);
      expect(ours['x-amz-date']).toBe(reference['x-amz-date']);
      expect(ours['x-amz-security-token']).toBe(reference['x-amz-security-token']);
    }
  });
});
