/**
 * What no log line may carry: tokens, passwords, Docker configs, data keys. The logger runs every value it writes
 * through {@link redactLogValue} (as a JSON replacer), so a careless `log({ headers })` or an error message that
 * quotes a URL with `?token=` still prints nothing secret. Pure: no I/O, unit-tested in test/unit/telemetry.
 */

export const REDACTED = '[REDACTED]';

/**
 * Field names whose value is secret whatever it looks like, compared without case, `-`, `_` or `.`: HTTP
 * credentials, registry auth (Docker config `auth`, `identitytoken`, `registrytoken`), the shared webhook secret,
 * KMS material (plaintext data keys, wrapped keys, ciphertext) and the sealed secret map itself.
 */
const SECRET_FIELDS = new Set(
  [
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-api-key',
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'identitytoken',
    'registrytoken',
    'bearer',
    'password',
    'passwd',
    'secret',
    'client_secret',
    'webhook_secret',
    'secretstring',
    'secretbinary',
    'auth',
    'auths',
    '.dockerconfigjson',
    '.dockercfg',
    'dockerconfig',
    'plaintext',
    'ciphertextblob',
    'datakey',
    'sealed',
    'privatekey',
    'secretaccesskey',
    'sessiontoken',
  ].map(normalizeField),
);

function normalizeField(name: string): string {
  return name.toLowerCase().replace(/[-_.]/g, '');
}

/** Whether a field of this name is always masked. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELDS.has(normalizeField(name));
}

/**
 * Token-looking text inside any string: credentials after an HTTP auth scheme, JSON Web Tokens, secret-bearing
 * query parameters, user:password in URLs, Docker config fields quoted in text, and AWS access key ids.
 */
const TOKEN_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}/gi, `$1 ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [
    /((?:^|[?&;])(?:token|access_token|id_token|refresh_token|secret|password|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s"']*/gi,
    `$1${REDACTED}`,
  ],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s:"']+:[^/@\s"']*@/gi, `$1${REDACTED}@`],
  [
    /("(?:auth|password|identitytoken|registrytoken|token|secret|access_token)"\s*:\s*")(?:[^"\\]|\\.)*"/gi,
    `$1${REDACTED}"`,
  ],
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED],
];

/** A string with every token-looking part masked. */
export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TOKEN_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A JSON replacer: secret fields are masked whole (objects included), strings have their token-looking parts
 * masked, everything else passes.
 */
export function redactLogValue(key: string, value: unknown): unknown {
  if (key !== '' && isSecretField(key) && value !== undefined && value !== null && value !== '')
    return REDACTED;
  if (typeof value === 'string') return redactText(value);
  return value;
}

/** A deep copy of `value` as the logger would write it (used where a line is printed without JSON). */
export function redactDeep(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, redactLogValue) ?? 'null');
}
