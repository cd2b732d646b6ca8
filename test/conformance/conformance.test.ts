import { startSigningS3 } from '../helpers/signing-s3.js';
import {
  type Backend,
  startEmulatorBackend,
  startLocalBackend,
  startS3rverBackend,
} from './backends.js';
import { conformanceSuite } from './suite.js';

/** @20minutes/s3rver: the same emulator quirks as s3rver 3, but every signature is checked. */
async function startSigningS3rverBackend(): Promise<Backend> {
  return startEmulatorBackend(await startSigningS3(['images']));
}

// Ceph's RADOS Gateway runs the same table in test/e2e/ceph.test.ts (npm run test:ceph).
conformanceSuite('local store', startLocalBackend);
conformanceSuite('s3rver', startS3rverBackend);
conformanceSuite('s3rver with signature checks', startSigningS3rverBackend);
