/**
 * What Lambda bundles use in place of the `semver` package (swapped in by the bundler alias in
 * infra/constructs/app-function.ts). Its one caller in the bundles is the X-Ray SDK's patcher for the AWS SDK v2
 * (`captureAWS`, which checks the v2 SDK's version with `semver.gte`), a path this service never takes: its clients
 * are SDK v3, captured one by one. The full package is about 27 KiB of every traced bundle; this is `gte` on
 * release versions, which is all that caller asks.
 */

/** `a >= b` for versions `major.minor.patch` (a leading `v` and a prerelease or build suffix are not accepted). */
export function gte(a: string, b: string): boolean {
  const [x, y] = [parseRelease(a), parseRelease(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! > y[i]!;
  return true;
}

function parseRelease(version: string): [number, number, number] {
  const m = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(version);
  if (!m) throw new TypeError(`Invalid Version: ${version}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
