import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchChromium, seriousViolations } from '../support/browser';
import { eventually } from '../support/eventually';
import { type Api, digest, HISTORY, IS, ISTAG, mapImage, startStack } from '../support/local-stack';
import { pushDistinctTags, type Registry, startRegistry } from '../support/registries';

/**
 * The web console in Debian's Chromium against the local stack: log in with a token, browse projects, streams
 * and a tag's paged timeline, roll back (and lose a race to another client), tag, import, schedule, and a
 * viewer's rollback refused by the server. axe-core checks every screen; each screen is photographed (into
 * docs/console with UPDATE_SCREENSHOTS=1, else a temp dir).
 */
const ALICE = 'alice-console-token-0123456789';
const VICTOR = 'victor-console-token-0123456789';
/** What the test's identity provider issues: shaped like a JWT, and a local token of olivia. */
const OLIVIA_JWT = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJvbGl2aWEifQ.olivia-console-signature';
const NS = 'payments';
const ENTRIES = 30;

const shots = process.env.UPDATE_SCREENSHOTS
  ? resolve('docs/console')
  : mkdtempSync(join(tmpdir(), 'imagestreams-console-shots-'));

let api: Api;
let alice: Api;
let stopStack: () => Promise<void>;
let browser: { context: BrowserContext; close: () => Promise<void> };
let page: Page;
let registry: Registry;
let pushed: Record<string, string>;
let consoleUrl: string;
/** Content-Security-Policy violations and uncaught errors any page reported. */
const pageProblems: string[] = [];
const timings: Record<string, number> = {};

const hex12 = (d: string) => d.slice('sha256:'.length, 'sha256:'.length + 12);

async function newPage(): Promise<Page> {
  const p = await browser.context.newPage();
  p.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
      pageProblems.push(m.text());
  });
  p.on('pageerror', (e) => pageProblems.push(`page error: ${e.message}`));
  return p;
}

async function logIn(p: Page, token: string): Promise<void> {
  await p.goto(consoleUrl);
  await p.getByLabel('Token').fill(token);
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
}

/** axe-core finds no serious or critical violation; then the screen is photographed. */
async function checkScreen(p: Page, name: string): Promise<void> {
  const violations = await seriousViolations(p);
  expect(
    violations.map(
      (v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`,
    ),
    `axe on ${name}`,
  ).toEqual([]);
  await p.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function history(tag: string) {
  const res = await alice.get(`${HISTORY(NS, tag)}?limit=500`);
  expect(res.status).toBe(200);
  return res.body as { total: number; items: Array<{ image: string; by: string }> };
}

beforeAll(async () => {
  const t0 = Date.now();
  mkdirSync(shots, { recursive: true });
  buildConsole();
  timings.build = Date.now() - t0;
  [registry, browser] = await Promise.all([startRegistry('anonymous'), launchChromium()]);
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  pushed = await pushDistinctTags(registry, 'team/web', 3, (i) => `v${i + 1}`);
  const stack = await startStack({
    LOCAL_TOKENS: JSON.stringify({
      [ALICE]: { user: 'alice' },
      [VICTOR]: { user: 'victor' },
      [OLIVIA_JWT]: { user: 'olivia' },
    }),
    SCHEDULER: 'off',
  });
  api = stack.api;
  stopStack = stack.stop;
  consoleUrl = `${api.url}/console/`;
  alice = api.as(ALICE);
  expect((await alice.newProject(NS)).status).toBe(201);
  expect(
    (
      await alice.put(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/view`, {
        metadata: { name: 'view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [
          { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'victor' },
          { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'olivia' },
        ],
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await alice.post(IS(NS), {
        kind: 'ImageStream',
        apiVersion: 'image.openshift.io/v1',
        metadata: { name: 'api' },
      })
    ).status,
  ).toBe(201);
  // 30 entries on api:prod, pushed by alice one after another (imagestreammappings: one call each).
  for (let i = 0; i < ENTRIES; i++)
    await mapImage(alice, NS, 'api', 'prod', digest(`prod-${i}`), 'registry.example/pay/api');
  await mapImage(alice, NS, 'api', 'canary', digest('canary-0'), 'registry.example/pay/api');
  // A tag whose import fails (nothing listens on port 9), for the "import failures at a glance" column.
  expect(
    (
      await alice.put(ISTAG(NS, 'broken:1.0'), {
        kind: 'ImageStreamTag',
        apiVersion: 'image.openshift.io/v1',
        metadata: { name: 'broken:1.0' },
        tag: {
          name: '1.0',
          from: { kind: 'DockerImage', name: '127.0.0.1:9/none/app:1.0' },
          importPolicy: { insecure: true },
        },
      })
    ).status,
  ).toBe(201);
  await eventually(async () => {
    const is = await alice.get(`/apis/image.openshift.io/v1/namespaces/${NS}/imagestreams/broken`);
    return is.body.status?.tags?.[0]?.conditions?.some((c: any) => c.status === 'False') ? true : undefined;
  }, 'the failing import to be recorded');
  page = await newPage();
  timings.setup = Date.now() - t0;
}, 180_000);

afterAll(async () => {
  console.log(`[console] timings (ms): ${JSON.stringify(timings)}; screenshots in ${shots}`);
  await browser?.close();
  await stopStack?.();
  await registry?.stop();
  if (!process.env.UPDATE_SCREENSHOTS) rmSync(shots, { recursive: true, force: true });
});

/** Runs a step and records how long it took. */
function step(name: string, fn: () => Promise<void>, timeout = 60_000) {
  it(
    name,
    async () => {
      const t = Date.now();
      await fn();
      timings[name] = Date.now() - t;
    },
    timeout,
  );
}

describe('console', () => {
  step('serves its static files without a token, with a CSP that allows only its own origin', async () => {
    const index = await fetch(consoleUrl);
    expect(index.status).toBe(200);
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect((await fetch(`${api.url}/console`, { redirect: 'manual' })).headers.get('location')).toBe(
      '/console/',
    );
    expect((await fetch(`${api.url}/console/..%2f..%2fpackage.json`)).status).toBe(404);
    // The API itself still needs a token.
    expect((await fetch(`${api.url}/apis/project.openshift.io/v1/projects`)).status).toBe(401);
  });

  step('logs in with a token and lists the projects the user can see', async () => {
    await page.goto(consoleUrl);
    await page.getByLabel('Token').fill('not-a-token-at-all-xyz');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Unauthorized');
    await page.getByLabel('Token').fill(ALICE);
    await checkScreen(page, 'login');
    await page.getByLabel('Token').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
    expect(await page.getByText('Signed in as').textContent()).toContain('alice');
    await page.getByRole('link', { name: NS, exact: true }).waitFor();
    await checkScreen(page, 'projects');
  });

  step('opens a project: streams at a glance, recent tag changes, role bindings', async () => {
    await page.getByRole('link', { name: NS, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: NS }).waitFor();
    const streams = page.getByRole('table', { name: `Image streams of ${NS}` });
    await streams.getByRole('link', { name: 'api', exact: true }).waitFor();
    const broken = streams
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: 'broken', exact: true }) });
    expect(await broken.textContent()).toMatch(/1\.0.*127\.0\.0\.1:9/);
    const apiRow = streams
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: 'api', exact: true }) });
    expect(await apiRow.getByRole('cell').first().textContent()).toBe('2');
    const events = page.getByRole('table', { name: /Recent tag changes/ });
    // Newest first across the project: the canary push came last.
    expect(await events.getByRole('row').nth(1).textContent()).toContain('api:canary');
    const bindings = page.getByRole('table', { name: `Role bindings of ${NS}` });
    expect(await bindings.textContent()).toContain('User victor');
    await checkScreen(page, 'project');
  });

  step('opens a stream: exact pull specs with one-click copy, sources, policies, conditions', async () => {
    await page.getByRole('link', { name: 'api', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'api' }).waitFor();
    const prod = await alice.get(ISTAG(NS, 'api:prod'));
    const spec = prod.body.image.dockerImageReference as string;
    await page.getByRole('button', { name: 'Copy pull spec of prod' }).click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(spec);
    expect(await page.getByRole('table', { name: 'Tags of api' }).textContent()).toContain(spec);
    await checkScreen(page, 'stream');
  });

  step('reads a tag timeline of 30 entries across pages, in the API order, with who and how', async () => {
    await page.getByRole('link', { name: 'prod', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'api:prod' }).waitFor();
    const rows = page.getByRole('table', { name: 'History' }).getByRole('row');
    await expect.poll(() => rows.count()).toBe(21); // header + the first page of 20
    await page.getByRole('button', { name: 'Load older entries' }).click();
    await expect.poll(() => rows.count()).toBe(ENTRIES + 1);
    expect(await page.getByRole('button', { name: 'Load older entries' }).count()).toBe(0);
    const h = await history('api:prod');
    const shown = await page
      .getByRole('table', { name: 'History' })
      .locator('tbody code.digest')
      .evaluateAll((els) => els.map((e) => e.getAttribute('title')));
    expect(shown).toEqual(h.items.map((i) => i.image));
    const first = await rows.nth(1).textContent();
    expect(first).toContain('alice');
    expect(first).toContain('push');
    const chart = page.getByRole('img', { name: /Which image api:prod pointed to/ });
    expect(await chart.locator('rect').count()).toBe(ENTRIES);
    await checkScreen(page, 'timeline');
  });

  step(
    'rolls back to the third entry after a confirmation naming both digests; the API history gains it',
    async () => {
      const before = await history('api:prod');
      const current = before.items[0]!.image;
      const third = before.items[2]!.image;
      await page.getByRole('button', { name: `Roll back to ${hex12(third)}` }).click();
      const dialog = page.getByRole('dialog', { name: 'Roll back api:prod?' });
      await dialog.waitFor();
      const text = (await dialog.textContent()) ?? '';
      expect(text).toContain(current);
      expect(text).toContain(third);
      await checkScreen(page, 'rollback-dialog');
      await dialog.getByRole('button', { name: 'Roll back', exact: true }).click();
      await expect.poll(() => page.getByRole('status').filter({ hasText: 'Rolled back' }).count()).toBe(1);
      const after = await history('api:prod');
      expect(after.total).toBe(before.total + 1);
      expect(after.items[0]).toMatchObject({ image: third, by: 'alice' });
      const istag = await alice.get(ISTAG(NS, 'api:prod'));
      expect(istag.body.tag.from).toEqual({ kind: 'ImageStreamImage', name: `api@${third}` });
      // The table shows the new entry on top, classified as a rollback.
      const top = page.getByRole('table', { name: 'History' }).getByRole('row').nth(1);
      await expect.poll(() => top.textContent()).toContain('rollback');
    },
  );

  step(
    'reports a conflict, and overwrites nothing, when another client moved the tag after the page loaded',
    async () => {
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'api:prod' }).waitFor();
      const shown = await history('api:prod');
      const target = shown.items[5]!.image;
      // The page has read the tag (its rows are there) before another client moves prod.
      await page.getByRole('button', { name: `Roll back to ${hex12(target)}` }).waitFor();
      const moved = await mapImage(
        api,
        NS,
        'api',
        'prod',
        digest('moved-by-someone-else'),
        'registry.example/pay/api',
      );
      await page.getByRole('button', { name: `Roll back to ${hex12(target)}` }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Roll back', exact: true }).click();
      const alert = page.getByRole('alert').filter({ hasText: 'Conflict' });
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(
        /nothing was rolled back.*another caller has updated the resource version/s,
      );
      const after = await history('api:prod');
      expect(after.total).toBe(shown.total + 1);
      expect(after.items[0]).toMatchObject({ image: moved, by: 'admin' });
      await checkScreen(page, 'rollback-conflict');
      await alert.getByRole('button', { name: 'Reload the history' }).click();
      await expect
        .poll(() => page.getByRole('table', { name: 'History' }).getByRole('row').nth(1).textContent())
        .toContain(hex12(moved));
    },
  );

  step(
    'keyboard only: the rollback dialog opens with Enter, holds the focus, and Escape cancels it',
    async () => {
      const h = await history('api:prod');
      const button = page.getByRole('button', { name: `Roll back to ${hex12(h.items[3]!.image)}` });
      await button.focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Roll back api:prod?' });
      await dialog.waitFor();
      expect(await page.evaluate('document.activeElement.closest("dialog") !== null')).toBe(true);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      expect((await history('api:prod')).total).toBe(h.total);
    },
  );

  step('tags one tag into another, as a snapshot and as an alias', async () => {
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'api' }).click();
    await page.getByRole('heading', { level: 1, name: 'api' }).waitFor();
    const prodImage = (await alice.get(ISTAG(NS, 'api:prod'))).body.image.metadata.name;
    await page.getByLabel('Source tag', { exact: true }).selectOption('prod');
    await page.getByLabel('Destination', { exact: true }).fill('qa');
    await page.getByRole('radio', { name: /Snapshot/ }).check();
    await page.getByRole('button', { name: 'Tag', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Tag api:qa set to' }).waitFor();
    const qa = await alice.get(ISTAG(NS, 'api:qa'));
    expect(qa.body.tag.from).toEqual({ kind: 'ImageStreamImage', name: `api@${prodImage}` });
    await page.getByLabel('Source tag', { exact: true }).selectOption('prod');
    await page.getByLabel('Destination', { exact: true }).fill('live');
    await page.getByRole('radio', { name: /Alias/ }).check();
    await page.getByRole('button', { name: 'Tag', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Tag api:live set up to track api:prod' }).waitFor();
    const live = await alice.get(ISTAG(NS, 'api:live'));
    expect(live.body.tag.from).toEqual({ kind: 'ImageStreamTag', name: 'api:prod' });
    expect(live.body.image.metadata.name).toBe(prodImage);
    const prodRow = page
      .getByRole('table', { name: 'Tags of api' })
      .getByRole('row')
      .filter({
        has: page.getByRole('link', { name: 'prod', exact: true }),
      });
    await expect.poll(() => prodRow.textContent()).toContain('live');
    await checkScreen(page, 'stream-tagged');
  });

  step(
    'imports one tag, then a whole repository with progress, and toggles scheduled re-import',
    async () => {
      await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: NS }).click();
      await page.getByRole('heading', { level: 1, name: NS }).waitFor();
      await page.getByLabel('Stream', { exact: true }).fill('web');
      await page.getByLabel('Tag', { exact: true }).fill('v1');
      await page.getByLabel('From', { exact: true }).fill(`${registry.host}/team/web:v1`);
      await page.getByRole('checkbox', { name: /Plain HTTP registry/ }).check();
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await page.getByRole('status').filter({ hasText: 'Imported 1 of 1 tag' }).waitFor();
      expect((await alice.get(ISTAG(NS, 'web:v1'))).body.image.metadata.name).toBe(pushed.v1);

      await page.getByLabel('Stream', { exact: true }).fill('mirror');
      await page.getByLabel('From', { exact: true }).fill(`${registry.host}/team/web`);
      await page.getByRole('checkbox', { name: /Every tag of the repository/ }).check();
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await page.getByRole('status').filter({ hasText: 'Imported 3 of 3 tags' }).waitFor();
      await checkScreen(page, 'import');
      const mirror = await alice.get(`/apis/image.openshift.io/v1/namespaces/${NS}/imagestreams/mirror`);
      expect(Object.fromEntries(mirror.body.status.tags.map((t: any) => [t.tag, t.items[0].image]))).toEqual(
        pushed,
      );

      await page
        .getByRole('table', { name: `Image streams of ${NS}` })
        .getByRole('link', { name: 'web', exact: true })
        .click();
      await page.getByRole('heading', { level: 1, name: 'web' }).waitFor();
      await page.getByRole('checkbox', { name: 'Scheduled re-import of v1' }).check();
      await page.getByRole('status').filter({ hasText: 'v1 is now re-imported on a schedule' }).waitFor();
      expect((await alice.get(ISTAG(NS, 'web:v1'))).body.tag.importPolicy.scheduled).toBe(true);
      await page.getByRole('checkbox', { name: 'Scheduled re-import of v1' }).uncheck();
      await page.getByRole('status').filter({ hasText: 'no longer re-imported' }).waitFor();
      expect((await alice.get(ISTAG(NS, 'web:v1'))).body.tag.importPolicy.scheduled ?? false).toBe(false);
    },
  );

  step(
    'a viewer sees the server refuse role bindings and a rollback, with its Forbidden message',
    async () => {
      const viewer = await newPage();
      try {
        await logIn(viewer, VICTOR);
        await viewer.getByRole('link', { name: NS, exact: true }).click();
        await viewer.getByRole('heading', { level: 1, name: NS }).waitFor();
        const refused = viewer.getByRole('alert').filter({ hasText: 'Role bindings' });
        await refused.waitFor();
        expect(await refused.textContent()).toContain('Forbidden');
        await viewer.getByRole('link', { name: 'api', exact: true }).click();
        await viewer.getByRole('link', { name: 'prod', exact: true }).click();
        await viewer.getByRole('heading', { level: 1, name: 'api:prod' }).waitFor();
        const before = await history('api:prod');
        await viewer.getByRole('button', { name: `Roll back to ${hex12(before.items[2]!.image)}` }).click();
        await viewer.getByRole('dialog').getByRole('button', { name: 'Roll back', exact: true }).click();
        const alert = viewer.getByRole('alert').filter({ hasText: 'Rollback refused' });
        await alert.waitFor();
        expect(await alert.textContent()).toContain(
          'Forbidden: imagestreamtags.image.openshift.io "api:prod" is forbidden: User "victor" cannot update resource "imagestreamtags"',
        );
        await checkScreen(viewer, 'forbidden');
        expect((await history('api:prod')).total).toBe(before.total);
      } finally {
        await viewer.close();
      }
    },
  );

  step(
    'signs in with OIDC (authorization code + PKCE) when config.json names an issuer and a client',
    async () => {
      // The identity provider is played by route handlers on the console's own origin: none runs here, and the
      // CSP allows connections to this origin only.
      const issuer = `${api.url}/test-idp`;
      const p = await newPage();
      const seen: { challenge?: string; state?: string; verified?: boolean } = {};
      try {
        await p.route(`${api.url}/console/config.json`, (r) =>
          r.fulfill({ json: { apiBase: '', oidcIssuer: issuer, oidcClientId: 'console-test' } }),
        );
        await p.route(`${issuer}/.well-known/openid-configuration`, (r) =>
          r.fulfill({
            json: {
              issuer,
              authorization_endpoint: `${issuer}/authorize`,
              token_endpoint: `${issuer}/token`,
            },
          }),
        );
        await p.route(
          (u) => u.pathname === '/test-idp/authorize',
          (r) => {
            const q = new URL(r.request().url()).searchParams;
            expect(Object.fromEntries(q)).toMatchObject({
              response_type: 'code',
              client_id: 'console-test',
              redirect_uri: `${api.url}/console/`,
              code_challenge_method: 'S256',
              scope: 'openid',
            });
            seen.challenge = q.get('code_challenge') ?? '';
            seen.state = q.get('state') ?? '';
            return r.fulfill({
              status: 302,
              headers: {
                location: `${api.url}/console/?code=the-code&state=${encodeURIComponent(seen.state)}`,
              },
            });
          },
        );
        await p.route(`${issuer}/token`, (r) => {
          const form = new URLSearchParams(r.request().postData() ?? '');
          const verifier = form.get('code_verifier') ?? '';
          seen.verified =
            form.get('grant_type') === 'authorization_code' &&
            form.get('code') === 'the-code' &&
            form.get('client_id') === 'console-test' &&
            form.get('redirect_uri') === `${api.url}/console/` &&
            createHash('sha256').update(verifier).digest('base64url') === seen.challenge;
          return seen.verified
            ? r.fulfill({ json: { access_token: OLIVIA_JWT, token_type: 'Bearer', expires_in: 300 } })
            : r.fulfill({ status: 400, json: { error: 'invalid_grant' } });
        });
        await p.goto(`${consoleUrl}#/projects/${NS}`);
        await p.getByRole('button', { name: 'Sign in' }).click();
        // Back where the user was, signed in, and the code gone from the address bar.
        await p.getByRole('heading', { level: 1, name: NS }).waitFor();
        expect(seen.verified).toBe(true);
        expect(await p.getByText('Signed in as').textContent()).toContain('olivia');
        expect(p.url()).toBe(`${consoleUrl}#/projects/${NS}`);
      } finally {
        await p.close();
      }
    },
  );

  step('no page reported a Content-Security-Policy violation or an uncaught error', async () => {
    expect(pageProblems).toEqual([]);
  });
});
