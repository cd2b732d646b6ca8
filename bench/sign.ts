/**
 * npx tsx bench/sign.ts — SigV4 signing of one S3 GET (If-Match header, session token),
 * in operations per second: this project's signer (src/sources/s3/sigv4.ts), the AWS SDK's
 * @smithy/signature-v4, and the aws4 package. Every signer must produce the same Authorization
 * for the same request first; a signer that does not is reported and not timed.
 */
import aws4 from 'aws4';
import { encodeKeyPath, SigV4Signer, UNSIGNED_PAYLOAD } from '../src/sources/s3/sigv4.js';
import { smithyS3Signer, smithySign } from '../test/helpers/smithy-signer.js';

const DURATION_MS = Number(process.env.BENCH_SIGN_MS ?? 2_000);
const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN+/=',
};
const region = 'us-east-1';
const host = 'images.s3.us-east-1.amazonaws.com';
const path = `/${encodeKeyPath('test/42/image ü+&.jpg')}`;
// No Range: aws4 never signs it (S3 does not require it), so its signature would differ.
const headers = {
  'if-match': '"5d41402abc4b2a76b9719d911017c592"',
  'x-amz-content-sha256': UNSIGNED_PAYLOAD,
};

type Signer = (now: Date) => Promise<string> | string;

const ours = new SigV4Signer(region, 's3');
const smithy = smithyS3Signer(region, credentials);

const signers: Record<string, Signer> = {
  'streamgate sigv4.ts': (now) =>
    ours.sign(
      { method: 'GET', path, headers: { host, ...headers }, payloadHash: UNSIGNED_PAYLOAD },
      credentials,
      now,
    ).authorization,
  '@smithy/signature-v4': async (now) =>
    (await smithySign(smithy, { method: 'GET', host, path, headers }, now)).authorization as string,
  aws4: (now) => {
    const request = aws4.sign(
      {
        host,
        path,
        method: 'GET',
        service: 's3',
        region,
        headers: { ...headers, 'X-Amz-Date': amzDate(now) },
      },
      credentials,
    );
    return String(request.headers?.Authorization);
  },
};

function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

async function opsPerSecond(signer: Signer): Promise<number> {
  const now = new Date();
  let count = 0;
  const started = performance.now();
  const deadline = started + DURATION_MS;
  while (performance.now() < deadline) {
    for (let i = 0; i < 200; i++) await signer(now);
    count += 200;
  }
  return count / ((performance.now() - started) / 1000);
}

const now = new Date();
const reference = await signers['@smithy/signature-v4']?.(now);
console.log('| signer | ops/s | same signature as @smithy/signature-v4 |');
console.log('| --- | --- | --- |');
for (const [name, signer] of Object.entries(signers)) {
  const correct = (await signer(now)) === reference;
  // Warm up the JIT, then measure.
  if (correct) await opsPerSecond(signer);
  const rate = correct ? Math.round(await opsPerSecond(signer)).toLocaleString('en') : '-';
  console.log(`| ${name} | ${rate} | ${correct ? 'yes' : 'NO'} |`);
}
