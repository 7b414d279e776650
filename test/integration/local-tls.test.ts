import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateTls } from '../../functions/local/tls';

/** Local mode's CA and server certificate under $DATA_DIR/tls: made once, kept across restarts, renewed when due. */

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-test-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const DAY = 86_400_000;

describe('local TLS', () => {
  it('makes a CA and a server certificate for loopback, localhost and the host name, keys 0600', () => {
    const dir = fresh();
    const tls = loadOrCreateTls(dir, ['127.0.0.1']);
    const ca = new X509Certificate(tls.caPem);
    const cert = new X509Certificate(tls.certPem);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBeDefined();
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost(hostname().toLowerCase())).toBeDefined();
    expect(cert.checkHost('example.com')).toBeUndefined();
    expect(statSync(join(dir, 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'server.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(tls.caPem);
    expect(readFileSync(join(dir, 'server.crt'), 'utf8')).toBe(tls.certPem);
  });

  it('keeps both across restarts', () => {
    const dir = fresh();
    const first = loadOrCreateTls(dir, ['127.0.0.1']);
    expect(loadOrCreateTls(dir, ['127.0.0.1'])).toEqual(first);
  });

  it('makes a new server certificate, under the same CA, when its names change, it is due or gone', () => {
    const dir = fresh();
    const first = loadOrCreateTls(dir, ['127.0.0.1']);
    const moreNames = loadOrCreateTls(dir, ['10.0.0.7']);
    expect(moreNames.caPem).toBe(first.caPem);
    expect(moreNames.certPem).not.toBe(first.certPem);
    expect(new X509Certificate(moreNames.certPem).checkIP('10.0.0.7')).toBe('10.0.0.7');

    const later = loadOrCreateTls(dir, ['10.0.0.7'], new Date(Date.now() + 340 * DAY));
    expect(later.caPem).toBe(first.caPem);
    expect(later.certPem).not.toBe(moreNames.certPem);

    unlinkSync(join(dir, 'server.key'));
    const rekeyed = loadOrCreateTls(dir, ['10.0.0.7']);
    expect(rekeyed.keyPem).not.toBe(later.keyPem);
    expect(rekeyed.caPem).toBe(first.caPem);
  });

  it('makes a new CA, and so a new server certificate, when the CA is due or its key is gone', () => {
    const dir = fresh();
    const first = loadOrCreateTls(dir);
    const decadeLater = loadOrCreateTls(dir, [], new Date(Date.now() + 3640 * DAY));
    expect(decadeLater.caPem).not.toBe(first.caPem);
    expect(new X509Certificate(decadeLater.certPem).checkIssued(new X509Certificate(decadeLater.caPem))).toBe(
      true,
    );
    unlinkSync(join(dir, 'ca.key'));
    const again = loadOrCreateTls(dir);
    expect(again.caPem).not.toBe(decadeLater.caPem);
    expect(new X509Certificate(again.certPem).verify(new X509Certificate(again.caPem).publicKey)).toBe(true);
  });
});
