import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import forge from 'node-forge';

/**
 * The local server's HTTPS identity: a private CA and a server certificate it signs, kept under `$DATA_DIR/tls/`
 * (ca.crt, ca.key, server.crt, server.key; keys mode 0600). kubectl sends bearer tokens only over HTTPS, so local
 * mode needs one; a kubeconfig carries the CA (`isctl kubeconfig`), which stays the same across restarts. The server
 * certificate is made again when it is missing, about to expire, not signed by the CA, or its names no longer
 * match; the CA only when it is missing or about to expire.
 */

export interface LocalTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const DAY_MS = 86_400_000;
const CA_LIFETIME_DAYS = 3650;
const SERVER_LIFETIME_DAYS = 365;
/** A certificate this close to its end is made again at start. */
const RENEW_BEFORE_DAYS = 30;

/** The names the server certificate covers: loopback, localhost, this host's name, and any extra (HOST). */
export function serverNames(extra: readonly string[] = []): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost', hostname().toLowerCase()]);
  const ips = new Set(['127.0.0.1', '::1']);
  for (const name of extra) {
    if (!name || name === '0.0.0.0' || name === '::') continue;
    if (ipaddr.isValid(name)) ips.add(canonicalIp(name));
    else dns.add(name.toLowerCase());
  }
  return { dns: [...dns].sort(), ips: [...ips].sort() };
}

function newKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    keyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function certificate(opts: {
  subject: string;
  publicPem: string;
  signerKeyPem: string;
  issuer?: forge.pki.Certificate;
  days: number;
  now: Date;
  extensions: object[];
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(opts.publicPem);
  // A positive serial: the top bit clear.
  cert.serialNumber = `0${randomBytes(16).toString('hex')}`;
  cert.validity.notBefore = new Date(opts.now.getTime() - 60_000);
  cert.validity.notAfter = new Date(opts.now.getTime() + opts.days * DAY_MS);
  const subject = [{ name: 'commonName', value: opts.subject }];
  cert.setSubject(subject);
  cert.setIssuer(opts.issuer ? opts.issuer.subject.attributes : subject);
  cert.setExtensions(opts.extensions);
  cert.sign(forge.pki.privateKeyFromPem(opts.signerKeyPem), forge.md.sha256.create());
  return cert;
}

const writePrivate = (file: string, text: string) => {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
};

const readIfPresent = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

/** Valid now and for a while yet (a clock set back would make a certificate from the future unusable). */
function lasts(cert: X509Certificate, now: Date): boolean {
  return (
    new Date(cert.validFrom).getTime() <= now.getTime() &&
    new Date(cert.validTo).getTime() - now.getTime() > RENEW_BEFORE_DAYS * DAY_MS
  );
}

/** The names a certificate's subjectAltName lists, as {@link serverNames} gives them. */
function namesOf(cert: X509Certificate): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) ips.push(canonicalIp(entry.slice(11)));
  }
  return { dns: dns.sort(), ips: ips.sort() };
}

/** One spelling per address (Node prints IPv6 SANs in full: `0:0:0:0:0:0:0:1`). */
const canonicalIp = (ip: string) => ipaddr.parse(ip).toString();

/** Loads the CA and server certificate from `dir`, making what is missing, expiring or no longer fitting. */
export function loadOrCreateTls(dir: string, extraNames: readonly string[] = [], now = new Date()): LocalTls {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
  };
  let caPem = readIfPresent(files.caCert);
  let caKeyPem = readIfPresent(files.caKey);
  let ca = caPem && caKeyPem ? new X509Certificate(caPem) : undefined;
  if (!ca || !caKeyPem || !lasts(ca, now)) {
    const pair = newKeyPair();
    caKeyPem = pair.keyPem;
    caPem = forge.pki.certificateToPem(
      certificate({
        subject: `imagestreams local CA ${randomBytes(4).toString('hex')}`,
        publicPem: pair.publicPem,
        signerKeyPem: pair.keyPem,
        days: CA_LIFETIME_DAYS,
        now,
        extensions: [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
          { name: 'subjectKeyIdentifier' },
        ],
      }),
    );
    writePrivate(files.caKey, caKeyPem);
    writeFileSync(files.caCert, caPem);
    ca = new X509Certificate(caPem);
  }

  const wanted = serverNames(extraNames);
  const certPem = readIfPresent(files.cert);
  const keyPem = readIfPresent(files.key);
  if (certPem && keyPem) {
    const current = new X509Certificate(certPem);
    const names = namesOf(current);
    const fits =
      lasts(current, now) &&
      current.checkIssued(ca) &&
      current.verify(ca.publicKey) &&
      JSON.stringify(names) === JSON.stringify(wanted);
    if (fits) return { caPem: caPem!, certPem, keyPem };
  }
  const pair = newKeyPair();
  const issued = certificate({
    subject: 'localhost',
    publicPem: pair.publicPem,
    signerKeyPem: caKeyPem,
    issuer: forge.pki.certificateFromPem(caPem!),
    days: SERVER_LIFETIME_DAYS,
    now,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...wanted.dns.map((value) => ({ type: 2, value })),
          ...wanted.ips.map((ip) => ({ type: 7, ip })),
        ],
      },
    ],
  });
  const newCertPem = forge.pki.certificateToPem(issued);
  writePrivate(files.key, pair.keyPem);
  writeFileSync(files.cert, newCertPem);
  return { caPem: caPem!, certPem: newCertPem, keyPem: pair.keyPem };
}
