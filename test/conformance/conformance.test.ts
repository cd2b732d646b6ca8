import {
  SIGNING_ACCESS_KEY_ID,
  SIGNING_SECRET_ACCESS_KEY,
  startSigningS3,
} from '../helpers/signing-s3.js';
import { type Backend, startLocalBackend, startS3Backend, startS3rverBackend } from './backends.js';
import { conformanceSuite } from './suite.js';

/** @20minutes/s3rver: the same emulator quirks as s3rver 3, but every signature is checked. */
async function startSigningS3rverBackend(): Promise<Backend> {
  const s3 = await startSigningS3(['images']);
  try {
    const backend = await startS3Backend({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      accessKeyId: SIGNING_ACCESS_KEY_ID,
      secretAccessKey: SIGNING_SECRET_ACCESS_KEY,
      bucket: 'images',
    });
    return {
      ...backend,
      async close() {
        await backend.close();
        await s3.stop();
      },
    };
  } catch (error) {
    await s3.stop();
    throw error;
  }
}

// Ceph's RADOS Gateway runs the same table in test/e2e/ceph.test.ts (npm run test:ceph).
conformanceSuite('local store', startLocalBackend);
conformanceSuite('s3rver', startS3rverBackend);
conformanceSuite('s3rver with signature checks', startSigningS3rverBackend);
