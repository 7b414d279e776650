import { describe, expect, it } from 'vitest';
import { ServiceLogger } from '../../../functions/telemetry/logger';
import { REDACTED, redactText } from '../../../functions/telemetry/redact';

/** A logger whose lines are collected as the JSON text it would print. */
function collectingLogger(level: 'debug' | 'info' = 'debug') {
  const lines: string[] = [];
  const logger = new ServiceLogger({ level, output: (a) => lines.push(JSON.stringify(a)) });
  return { logger, lines };
}

const JWT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTkwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

describe('log redaction', () => {
  it('masks secret fields whatever their value, at any depth', () => {
    const { logger, lines } = collectingLogger();
    logger.info('request', {
      headers: {
        Authorization: 'Bearer s3cr3t-header-value',
        'x-api-key': 'k3y-value',
        accept: 'application/json',
      },
      secret: { '.dockerconfigjson': '{"auths":{"r.example":{"auth":"dXNlcjpwYXNzd29yZDEyMw=="}}}' },
      registry: { password: 'hunter2-registry', username: 'robot' },
      kms: { Plaintext: 'cGxhaW50ZXh0LWRhdGEta2V5', CiphertextBlob: 'd3JhcHBlZA==' },
      sealed: { v: 1, wk: 'wrapped', ct: 'ciphertext' },
      identitytoken: 'refresh-token-value',
    });
    const line = lines.join('\n');
    for (const secret of [
      's3cr3t-header-value',
      'k3y-value',
      'dXNlcjpwYXNzd29yZDEyMw==',
      'hunter2-registry',
      'cGxhaW50ZXh0LWRhdGEta2V5',
      'd3JhcHBlZA==',
      'ciphertext',
      'refresh-token-value',
    ])
      expect(line).not.toContain(secret);
    const entry = JSON.parse(lines[0]!);
    expect(entry.headers).toEqual({
      Authorization: REDACTED,
      'x-api-key': REDACTED,
      accept: 'application/json',
    });
    expect(entry.registry).toEqual({ password: REDACTED, username: 'robot' });
    expect(entry.sealed).toBe(REDACTED);
  });

  it('masks token-looking text in messages, attributes and errors', () => {
    const { logger, lines } = collectingLogger();
    logger.warn(`registry answered 401 to Bearer ${JWT}`, {
      url: 'https://svc.example/webhooks/docker?token=webhook-shared-secret&x=1',
      proxy: 'http://robot:pa55word@proxy.example:3128/',
      note: `id token ${JWT} and key AKIAABCDEFGHIJKLMNOP`,
      quoted: 'config {"auths":{"r":{"auth":"YWxpY2U6czNjcjN0"}}}',
    });
    logger.error(
      'import failed',
      new Error('GET https://r.example/token?token=abc123def&scope=x: Basic YWxpY2U6czNjcjN0'),
    );
    const text = lines.join('\n');
    for (const secret of [
      JWT,
      'webhook-shared-secret',
      'pa55word',
      'AKIAABCDEFGHIJKLMNOP',
      'YWxpY2U6czNjcjN0',
      'abc123def',
    ])
      expect(text).not.toContain(secret);
    const [warn, error] = lines.map((l) => JSON.parse(l));
    expect(warn.message).toBe(`registry answered 401 to Bearer ${REDACTED}`);
    expect(warn.url).toBe(`https://svc.example/webhooks/docker?token=${REDACTED}&x=1`);
    expect(warn.proxy).toBe(`http://${REDACTED}@proxy.example:3128/`);
    expect(error.error.message).toContain(`?token=${REDACTED}&scope=x`);
    expect(error.error.stack).not.toContain('abc123def');
  });

  it('leaves ordinary values alone', () => {
    expect(redactText('GET /apis/image.openshift.io/v1/namespaces/demo/imagestreams/app 200')).toBe(
      'GET /apis/image.openshift.io/v1/namespaces/demo/imagestreams/app 200',
    );
    expect(redactText('token=abc&limit=5')).toBe(`token=${REDACTED}&limit=5`);
    expect(redactText('labelSelector=app%3Dweb&limit=5')).toBe('labelSelector=app%3Dweb&limit=5');
    expect(redactText('sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef')).toBe(
      'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    const { logger, lines } = collectingLogger();
    logger.info('job done', { kind: 'import', tags: 3, token: '' });
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'INFO',
      message: 'job done',
      service: 'imagestreams',
      kind: 'import',
      tags: 3,
    });
  });

  it('honours the level', () => {
    const { logger, lines } = collectingLogger('info');
    logger.debug('hidden');
    logger.info('shown');
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['shown']);
  });
});
