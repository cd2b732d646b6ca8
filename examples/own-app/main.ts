import { createS3Source } from 'streamgate';
import { buildCameraApp } from './app.js';

const app = buildCameraApp({
  snapshots: createS3Source({
    bucket: process.env.SNAPSHOT_BUCKET ?? 'snapshots',
    endpoint: process.env.AWS_ENDPOINT_URL,
  }),
  apiToken: process.env.API_TOKEN ?? 'change-me',
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
