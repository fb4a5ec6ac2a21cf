import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../shared/config';

describe('config', () => {
  it('has defaults that run the demo', () => {
    expect(loadConfig({})).toEqual({
      taskQueue: 'recoup-cases',
      databaseUrl: undefined,
      apiPort: 3000,
      dataDir: '.data',
      embeddedPgPort: 54329,
      logLevel: 'info',
      webhookRateLimit: 600,
      worker: { maxCachedWorkflows: 80, workflowThreads: 2, workflowHeapMb: 96, stackTraces: false },
      codec: { encryption: true, corsOrigins: [] },
    });
  });

  it('reads the payload codec settings and names a bad one', () => {
    const c = loadConfig({
      RECOUP_CODEC_KEYS_FILE: '/etc/recoup/keys.json',
      RECOUP_CODEC_UI_TOKEN: 'a'.repeat(32),
      RECOUP_CODEC_CORS_ORIGINS: 'http://localhost:8233, https://temporal.example.com',
    });
    expect(c.codec).toEqual({
      encryption: true,
      keysFile: '/etc/recoup/keys.json',
      uiToken: 'a'.repeat(32),
      corsOrigins: ['http://localhost:8233', 'https://temporal.example.com'],
    });
    expect(loadConfig({ RECOUP_PAYLOAD_ENCRYPTION: 'false' }).codec.encryption).toBe(false);
    expect(() => loadConfig({ RECOUP_CODEC_CORS_ORIGINS: 'http://x.example/path', RECOUP_CODEC_UI_TOKEN: 'short' })).toThrow(
      /RECOUP_CODEC_UI_TOKEN[\s\S]*RECOUP_CODEC_CORS_ORIGINS|RECOUP_CODEC_CORS_ORIGINS[\s\S]*RECOUP_CODEC_UI_TOKEN/,
    );
    expect(() => loadConfig({ RECOUP_CODEC_KEYS_FILE: 'k.json', RECOUP_CODEC_KEYS: 'a=b' })).toThrow(/set one, not both/);
  });

  it('sizes the worker from the environment', () => {
    const c = loadConfig({
      RECOUP_MAX_CACHED_WORKFLOWS: '200',
      RECOUP_MAX_CONCURRENT_WORKFLOW_TASKS: '8',
      RECOUP_MAX_CONCURRENT_ACTIVITIES: '50',
      RECOUP_METRICS_ADDRESS: '127.0.0.1:9464',
      RECOUP_WORKFLOW_THREADS: '1',
      RECOUP_WORKFLOW_HEAP_MB: '200',
      RECOUP_WORKFLOW_STACK_TRACES: 'on',
    });
    expect(c.worker).toEqual({
      maxCachedWorkflows: 200,
      workflowThreads: 1,
      workflowHeapMb: 200,
      stackTraces: true,
      maxConcurrentWorkflowTasks: 8,
      maxConcurrentActivities: 50,
      metricsAddress: '127.0.0.1:9464',
    });
    expect(() => loadConfig({ RECOUP_MAX_CACHED_WORKFLOWS: '-1', RECOUP_METRICS_ADDRESS: 'http://x' })).toThrow(
      /RECOUP_MAX_CACHED_WORKFLOWS[\s\S]*RECOUP_METRICS_ADDRESS/,
    );
    expect(() => loadConfig({ RECOUP_WORKFLOW_THREADS: '0', RECOUP_WORKFLOW_STACK_TRACES: 'maybe' })).toThrow(
      /RECOUP_WORKFLOW_THREADS[\s\S]*RECOUP_WORKFLOW_STACK_TRACES/,
    );
  });

  it('reads and coerces the environment', () => {
    const c = loadConfig({ RECOUP_API_PORT: '8080', DATABASE_URL: 'postgres://u:p@db:5432/recoup', RECOUP_TASK_QUEUE: 'q' });
    expect(c).toMatchObject({ apiPort: 8080, databaseUrl: 'postgres://u:p@db:5432/recoup', taskQueue: 'q' });
  });

  it('fails fast and names every bad variable', () => {
    const bad = () => loadConfig({ RECOUP_API_PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/RECOUP_API_PORT/);
    expect(bad).toThrow(/DATABASE_URL/);
    expect(bad).toThrow(/LOG_LEVEL/);
  });

  it('takes a channel gateway only with its secret', () => {
    expect(() => loadConfig({ RECOUP_CHANNEL_GATEWAY_URL: 'https://gw.example/letters' })).toThrow(/set both or neither/);
    expect(() => loadConfig({ RECOUP_CHANNEL_GATEWAY_URL: 'https://gw.example/letters', RECOUP_CHANNEL_GATEWAY_SECRET: 'short' })).toThrow(
      /RECOUP_CHANNEL_GATEWAY_SECRET/,
    );
    expect(
      loadConfig({ RECOUP_CHANNEL_GATEWAY_URL: 'https://gw.example/letters', RECOUP_CHANNEL_GATEWAY_SECRET: 'a-long-enough-secret' })
        .channelGateway,
    ).toEqual({ url: 'https://gw.example/letters', secret: 'a-long-enough-secret' });
  });
});
