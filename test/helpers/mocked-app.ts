import type { FastifyInstance } from 'fastify';
import { MockAgent } from 'undici';
import { afterEach, beforeEach } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadSettings } from '../../src/settings.js';
import type { SourceClients } from '../../src/sources/index.js';

/** The app in-process (it never listens), one source's requests answered by a MockAgent. */
export interface MockedApp {
  /** Allows no real connection: a request that nothing intercepts fails. */
  agent: MockAgent;
  app: FastifyInstance;
}

/**
 * A fresh MockedApp for each test of the calling `describe`, closed after it: `dispatcher` names
 * the source the agent answers for, `env` the settings (LOG_LEVEL silent unless set).
 */
export function mockedAppPerTest(
  dispatcher: keyof SourceClients,
  env: Record<string, string>,
): MockedApp {
  let current: MockedApp | undefined;
  beforeEach(() => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const app = buildApp(loadSettings({ LOG_LEVEL: 'silent', ...env }), { [dispatcher]: agent });
    current = { agent, app };
  });
  afterEach(() => current?.app.close());
  const now = (): MockedApp => {
    if (current === undefined) throw new Error('the mocked app exists only while a test runs');
    return current;
  };
  return {
    get agent() {
      return now().agent;
    },
    get app() {
      return now().app;
    },
  };
}
