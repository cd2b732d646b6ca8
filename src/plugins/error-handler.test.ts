import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { loadSettings } from '../settings.js';

// Validation runs before any source is asked: no object or upstream is needed.
const app = buildApp(loadSettings({ LOG_LEVEL: 'silent' }));
afterAll(() => app.close());

describe("FastAPI's 422 wording of a bad parameter", () => {
  it.each(['/tasks/1/image?download=yes', '/tasks/1/bytes/5?download=2'])(
    'lists the allowed values of download, as pydantic does a Literal: %s',
    async (url) => {
      const response = await app.inject({ url });
      expect(response.statusCode).toBe(422);
      expect(response.json()).toEqual({
        detail: [
          {
            loc: ['query', 'download'],
            msg: "Input should be '0', '1', 'true' or 'false'",
            type: 'literal_error',
          },
        ],
      });
    },
  );
});
