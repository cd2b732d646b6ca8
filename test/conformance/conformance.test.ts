import { startLocalBackend, startS3rverBackend } from './backends.js';
import { conformanceSuite } from './suite.js';

// Ceph's RADOS Gateway runs the same table in test/e2e/ceph.test.ts (npm run test:ceph).
conformanceSuite('local store', startLocalBackend);
conformanceSuite('s3rver', startS3rverBackend);
