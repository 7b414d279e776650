/**
 * In-memory implementations of the application's ports (functions/app/ports), so use cases run in unit tests in
 * milliseconds, without DynamoDB or a registry. They keep the promises the ports make that use cases rely on
 * (conditional commits that lose races as the table's do, a project's own image records, the schedule's budgets)
 * and count what was written, so a test can prove a dry run wrote nothing. The integration tests exercise the real
 * adapters on DynamoDB Local.
 */

import type { Job } from '../../functions/app/jobs/jobs';
import { noSealer } from '../../functions/app/ports/credential-sealer';
import type {
  ImageRepository,
  ProjectImage,
  RecordedImage,
  StreamScope,
} from '../../functions/app/ports/images';
import type { JobSink } from '../../functions/app/ports/jobs';
import type { ManifestRepository, StoredManifest } from '../../functions/app/ports/manifests';
import type { MetricsRecorder } from '../../functions/app/ports/metrics';
import {
  type BindingRecord,
  type ProjectAccessRecord,
  type ProjectRecord,
  type ProjectRepository,
  ProjectWriteConflict,
} from '../../functions/app/ports/projects';
import type {
  BlobSource,
  FetchedImage,
  ImageFetch,
  ImageRegistry,
  ManifestBytes,
  PullThroughRegistry,
  RepositoryTarget,
} from '../../functions/app/ports/registry';
import type { Backoff, IndexedTag, ScheduleRepository } from '../../functions/app/ports/schedule';
import type {
  SecretCredentials,
  SecretMeta,
  SecretRepository,
  StoredSecret,
  UnsealedRecord,
} from '../../functions/app/ports/secrets';
import {
  type CommitPlan,
  ConcurrentWriteError,
  type ImageRefMatch,
  type StreamRepository,
} from '../../functions/app/ports/streams';
import { type AppContext, type Identity, SYSTEM_ACTORS } from '../../functions/app/shared/context';
import { KeyedQueue } from '../../functions/app/shared/keyed-queue';
import type { Subject } from '../../functions/core/access/rules';
import type { Image, TagEvent } from '../../functions/core/api-types';
import {
  isVacant,
  type StreamHead,
  type StreamState,
  type TagRecord,
} from '../../functions/core/imagestream/model';
import { RegistryError } from '../../functions/registry/errors';
import type { MetricRole } from '../../functions/telemetry/metrics';

const clone = <T>(v: T): T => structuredClone(v);

interface StoredTag {
  record: TagRecord;
  suid: string;
  by: string;
}

/** Streams in memory, committed with the table's conditions (head resourceVersion, tag versions, uids). */
export class FakeStreams implements StreamRepository {
  readonly heads = new Map<string, StreamHead & { by: string }>();
  readonly tags = new Map<string, Map<string, StoredTag>>();
  /** `<stream>|<tid>|<seq>` → the history entry. */
  readonly entries = new Map<string, { event: TagEvent; by: string }>();
  /** `<stream>|<digest>|<tid>` → an image reference. */
  readonly refs = new Map<string, { image: string; tag: string; tid: string; ref: string; suid: string }>();
  /** Every successful commit, in order (what the table's stream would turn into events). */
  readonly commits: CommitPlan[] = [];
  /** Runs before each commit (a test's concurrent writer). */
  beforeCommit: ((plan: CommitPlan) => Promise<void> | void) | undefined;

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  async getHead(ns: string, name: string): Promise<StreamHead | undefined> {
    const h = this.heads.get(this.key(ns, name));
    if (!h) return undefined;
    const { by: _by, ...head } = clone(h);
    return head;
  }

  async getHeadAndTags(ns: string, name: string, tags: string[]) {
    const head = await this.getHead(ns, name);
    return { head, tags: head ? await this.getTags(head, tags) : new Map<string, TagRecord>() };
  }

  async getTags(head: StreamHead, tags: string[]): Promise<Map<string, TagRecord>> {
    const stored = this.tags.get(this.key(head.namespace, head.name));
    const out = new Map<string, TagRecord>();
    for (const t of new Set(tags)) {
      const s = stored?.get(t);
      if (s && s.suid === head.uid) out.set(t, clone(s.record));
    }
    return out;
  }

  async queryTags(head: StreamHead, opts: { limit?: number; after?: string } = {}) {
    const stored = this.tags.get(this.key(head.namespace, head.name)) ?? new Map<string, StoredTag>();
    const names = [...stored.keys()]
      .filter((t) => stored.get(t)!.suid === head.uid && (opts.after === undefined || t > opts.after))
      .sort();
    const page = opts.limit ? names.slice(0, opts.limit) : names;
    const tags = page.map((t) => clone(stored.get(t)!.record));
    return { tags, ...(page.length < names.length ? { last: page.at(-1)! } : {}) };
  }

  async loadStream(ns: string, name: string): Promise<StreamState | undefined> {
    const head = await this.getHead(ns, name);
    if (!head) return undefined;
    const { tags } = await this.queryTags(head);
    return { head, tags: new Map(tags.map((t) => [t.name, t])), complete: true };
  }

  async listHeads(ns: string, opts: { limit: number; after?: string }) {
    const names = [...this.heads.values()]
      .filter((h) => h.namespace === ns && (opts.after === undefined || h.name > opts.after))
      .map((h) => h.name)
      .sort();
    const heads = await Promise.all(names.slice(0, opts.limit).map((n) => this.getHead(ns, n)));
    return { heads: heads as StreamHead[], more: names.length > opts.limit };
  }

  async history(head: StreamHead, tag: TagRecord, opts: { limit: number; beforeSeq?: number }) {
    const upper = opts.beforeSeq ?? tag.topSeq + 1;
    const events: Array<{ seq: number; event: TagEvent; by?: string }> = [];
    for (let seq = upper - 1; seq >= 1 && events.length < opts.limit; seq--) {
      const e = this.entries.get(`${this.key(head.namespace, head.name)}|${tag.tid}|${seq}`);
      if (e) events.push({ seq, event: clone(e.event), by: e.by });
    }
    return { events };
  }

  async findImages(head: StreamHead, id: string, max = 2): Promise<ImageRefMatch[]> {
    const wanted = id.includes(':') ? id : `sha256:${id}`;
    const stored = this.tags.get(this.key(head.namespace, head.name));
    const out = new Map<string, { ref: string; tag: string }>();
    for (const r of this.refs.values()) {
      if (r.suid !== head.uid || !r.image.startsWith(wanted)) continue;
      if (stored?.get(r.tag)?.record.tid !== r.tid) continue;
      if (!out.has(r.image)) out.set(r.image, { ref: r.ref, tag: r.tag });
      if (out.size >= max) break;
    }
    return [...out].map(([image, { ref, tag }]) => ({ image, dockerImageReference: ref, tag }));
  }

  async commit(plan: CommitPlan): Promise<void> {
    await this.beforeCommit?.(plan);
    const { before, after, mode } = plan;
    const h = after.head;
    const key = this.key(h.namespace, h.name);
    const stored = this.heads.get(key);
    if (mode === 'create' && stored) throw new ConcurrentWriteError('head', false, true);
    if (mode !== 'create') {
      if (!stored) throw new ConcurrentWriteError('head', true);
      if (stored.uid !== h.uid) throw new ConcurrentWriteError('head', false, true);
      if (mode === 'stream' && stored.resourceVersion !== before?.head.resourceVersion)
        throw new ConcurrentWriteError('head', false, true);
    }
    const records = this.tags.get(key) ?? new Map<string, StoredTag>();
    const puts: Array<[string, TagRecord, TagRecord | undefined]> = [];
    const deletes: string[] = [];
    for (const name of new Set([...after.tags.keys(), ...(before?.tags.keys() ?? [])])) {
      const old = mode === 'create' ? undefined : before?.tags.get(name);
      const next = after.tags.get(name);
      const oldVersion = old?.version ?? 0;
      const current = records.get(name);
      const holds =
        oldVersion > 0 ? current?.record.version === oldVersion : !current || current.suid !== h.uid;
      if (!next || isVacant(next)) {
        if (oldVersion === 0) continue;
        if (!holds) throw new ConcurrentWriteError('tag');
        deletes.push(name);
        continue;
      }
      if (old && JSON.stringify(old) === JSON.stringify(next)) continue;
      if (!holds) throw new ConcurrentWriteError('tag');
      puts.push([name, { ...clone(next), version: oldVersion + 1 }, old?.tid === next.tid ? old : undefined]);
    }
    if (mode === 'create') this.heads.set(key, { ...clone(h), resourceVersion: 1, by: plan.actor });
    else if (mode === 'stream')
      this.heads.set(key, { ...clone(h), resourceVersion: stored!.resourceVersion + 1, by: plan.actor });
    else {
      const prev = stored!;
      prev.resourceVersion += 1;
      if (plan.specChanged) prev.generation += 1;
      prev.annotations = { ...prev.annotations, ...h.annotations };
      prev.by = plan.actor;
    }
    for (const name of deletes) records.delete(name);
    for (const [name, record, old] of puts) {
      records.set(name, { record, suid: h.uid, by: plan.actor });
      const oldTop = old?.topSeq ?? 0;
      for (let seq = record.topSeq; seq >= Math.max(1, Math.min(oldTop, record.topSeq)); seq--) {
        const ev = record.recent[record.topSeq - seq];
        if (!ev) break;
        this.entries.set(`${key}|${record.tid}|${seq}`, { event: clone(ev), by: plan.actor });
        if (!ev.image) continue;
        const repo = ev.dockerImageReference.replace(/@[^@]*$/, '');
        for (const [image, ref] of [
          [ev.image, ev.dockerImageReference],
          ...(plan.childImages?.get(ev.image) ?? []).map((c) => [c, `${repo}@${c}`]),
        ] as Array<[string, string]>)
          this.refs.set(`${key}|${image}|${record.tid}`, {
            image,
            tag: name,
            tid: record.tid,
            ref,
            suid: h.uid,
          });
      }
    }
    this.tags.set(key, records);
    this.commits.push(clone(plan));
  }

  async deleteHead(head: StreamHead, pre: { uid?: string; resourceVersion?: number }, actor: string) {
    const key = this.key(head.namespace, head.name);
    const stored = this.heads.get(key);
    if (!stored) throw new ConcurrentWriteError('head', true);
    if (stored.uid !== (pre.uid ?? head.uid)) throw new ConcurrentWriteError('head', false, true);
    if (pre.resourceVersion !== undefined && stored.resourceVersion !== pre.resourceVersion)
      throw new ConcurrentWriteError('head', false, true);
    stored.by = actor;
    this.heads.delete(key);
  }

  async sweepTagIncarnation(ns: string, name: string, tid: string): Promise<boolean> {
    for (const k of this.entries.keys())
      if (k.startsWith(`${this.key(ns, name)}|${tid}|`)) this.entries.delete(k);
    return true;
  }

  async sweep(ns: string, name: string): Promise<boolean> {
    const key = this.key(ns, name);
    const uid = this.heads.get(key)?.uid;
    const records = this.tags.get(key);
    for (const [t, s] of records ?? []) if (s.suid !== uid) records!.delete(t);
    return true;
  }

  async sweepAbandonedWrites() {
    return { abandoned: 0, removed: 0, done: true };
  }

  /** Who wrote a tag record last, as stored. */
  writerOf(ns: string, name: string, tag: string): string | undefined {
    return this.tags.get(this.key(ns, name))?.get(tag)?.by;
  }
}

/** Each project's own image records, and the shared verified ones, by the image store's rules. */
export class FakeImages implements ImageRepository {
  readonly projects = new Map<string, Map<string, ProjectImage>>();
  readonly shared = new Map<string, Image>();
  writes = 0;

  private of(ns: string): Map<string, ProjectImage> {
    const m = this.projects.get(ns) ?? new Map<string, ProjectImage>();
    this.projects.set(ns, m);
    return m;
  }

  async seenBy(scope: StreamScope, digest: string) {
    return clone(this.projects.get(scope.namespace)?.get(digest));
  }

  async seenByMany(scope: StreamScope, digests: string[]) {
    const out = new Map<string, ProjectImage>();
    for (const d of digests) {
      const r = this.projects.get(scope.namespace)?.get(d);
      if (r) out.set(d, clone(r));
    }
    return out;
  }

  async current(ns: string, digest: string) {
    return clone(this.projects.get(ns)?.get(digest));
  }

  private put(ns: string, record: ProjectImage): RecordedImage {
    const d = record.image.metadata.name as string;
    const theirs = this.of(ns).get(d);
    if (theirs && !(theirs.source === 'mapping' && record.source === 'import'))
      return { record: clone(theirs), existed: true };
    this.writes++;
    this.of(ns).set(d, clone(record));
    return { record: clone(record), existed: false };
  }

  async recordMapping(ns: string, image: Image) {
    return this.put(ns, { image, source: 'mapping' });
  }

  async recordImports(ns: string, images: Image[]) {
    for (const image of images) this.put(ns, { image, source: 'import' });
  }

  async copyBetweenProjects(fromNs: string, toNs: string, digests: string[]) {
    const source = this.projects.get(fromNs) ?? new Map<string, ProjectImage>();
    const wanted = new Set(digests);
    for (const d of digests)
      for (const m of source.get(d)?.image.dockerImageManifests ?? []) wanted.add(m.digest);
    const out = new Map<string, ProjectImage>();
    for (const d of wanted) {
      const r = source.get(d);
      if (r) out.set(d, this.put(toNs, r).record);
    }
    return out;
  }

  async deleteProjectImages(ns: string) {
    this.projects.delete(ns);
    return true;
  }

  async verified(digest: string) {
    return clone(this.shared.get(digest));
  }

  async forClusterAdmin(digest: string) {
    if (this.shared.has(digest)) return clone(this.shared.get(digest));
    for (const m of this.projects.values()) if (m.has(digest)) return clone(m.get(digest)!.image);
    return undefined;
  }

  async storeVerified(images: Image[]) {
    for (const i of images)
      if (!this.shared.has(i.metadata.name as string)) {
        this.writes++;
        this.shared.set(i.metadata.name as string, clone(i));
      }
  }
}

const subjectIs = (s: Subject, t: Subject) =>
  s.kind === t.kind && s.name === t.name && (s.namespace ?? '') === (t.namespace ?? '');

/** Projects and bindings; creating content needs an Active project, as the table's project check does. */
export class FakeProjects implements ProjectRepository {
  readonly projects = new Map<string, ProjectRecord>();
  readonly bindings = new Map<string, Map<string, BindingRecord>>();

  async access(ns: string): Promise<ProjectAccessRecord> {
    const project = this.projects.get(ns);
    return {
      ...(project ? { project: clone(project) } : {}),
      bindings: [...(this.bindings.get(ns)?.values() ?? [])].map(clone),
    };
  }

  async getProject(ns: string) {
    return clone(this.projects.get(ns));
  }

  async createProject(p: ProjectRecord, bindings: BindingRecord[]) {
    if (this.projects.has(p.name)) throw new ProjectWriteConflict('exists');
    this.projects.set(p.name, clone(p));
    this.bindings.set(p.name, new Map(bindings.map((b) => [b.name, clone(b)])));
  }

  async listAll(opts: { limit: number; after?: string | undefined }) {
    const names = [...this.projects.keys()].filter((n) => !opts.after || n > opts.after).sort();
    return {
      items: names.slice(0, opts.limit).map((n) => clone(this.projects.get(n)!)),
      more: names.length > opts.limit,
    };
  }

  async bindingsOf(subjects: Subject[]) {
    const out = new Map<string, Set<string>>();
    for (const [ns, bs] of this.bindings)
      for (const b of bs.values())
        if (b.subjects.some((s) => subjects.some((t) => subjectIs(s, t))))
          out.set(ns, (out.get(ns) ?? new Set()).add(b.role));
    return out;
  }

  async markTerminating(ns: string, by: string) {
    const p = this.projects.get(ns);
    if (!p) throw new ProjectWriteConflict('missing');
    Object.assign(p, { phase: 'Terminating', resourceVersion: p.resourceVersion + 1, by });
    return clone(p);
  }

  async removeProject(ns: string) {
    this.projects.delete(ns);
    this.bindings.delete(ns);
  }

  async getBinding(ns: string, name: string) {
    return clone(this.bindings.get(ns)?.get(name));
  }

  async createBinding(b: BindingRecord) {
    if (this.projects.get(b.namespace)?.phase !== 'Active') throw new ProjectWriteConflict('terminating');
    const bs = this.bindings.get(b.namespace)!;
    if (bs.has(b.name)) throw new ProjectWriteConflict('exists');
    bs.set(b.name, clone(b));
  }

  async updateBinding(old: BindingRecord, next: BindingRecord) {
    const bs = this.bindings.get(old.namespace);
    if (bs?.get(old.name)?.resourceVersion !== old.resourceVersion) throw new ProjectWriteConflict('changed');
    bs.set(next.name, clone(next));
  }

  async deleteBinding(b: BindingRecord) {
    if (!this.bindings.get(b.namespace)?.delete(b.name)) throw new ProjectWriteConflict('missing');
  }

  async listBindings(ns: string, opts: { limit: number; after?: string | undefined }) {
    const all = [...(this.bindings.get(ns)?.values() ?? [])]
      .filter((b) => !opts.after || b.name > opts.after)
      .sort((a, b) => a.name.localeCompare(b.name));
    return { items: all.slice(0, opts.limit).map(clone), more: all.length > opts.limit };
  }
}

/** Registry secrets, kept as given (sealed by whatever sealer the context has). */
export class FakeSecrets implements SecretRepository {
  readonly secrets = new Map<string, StoredSecret>();

  constructor(private readonly projects: FakeProjects) {}

  async create(s: StoredSecret) {
    if (this.projects.projects.get(s.namespace)?.phase !== 'Active') return 'no-project' as const;
    if (this.secrets.has(`${s.namespace}/${s.name}`)) return 'exists' as const;
    this.secrets.set(`${s.namespace}/${s.name}`, clone(s));
    return 'created' as const;
  }

  async replace(s: StoredSecret, expectedRv: number) {
    const live = this.secrets.get(`${s.namespace}/${s.name}`);
    if (live?.resourceVersion !== expectedRv) return false;
    this.secrets.set(`${s.namespace}/${s.name}`, clone(s));
    return true;
  }

  async deleteAll(ns: string) {
    for (const k of this.secrets.keys()) if (k.startsWith(`${ns}/`)) this.secrets.delete(k);
  }

  private meta(s: StoredSecret): SecretMeta {
    const { sealed: _s, by: _b, ...m } = clone(s);
    return m;
  }

  async get(ns: string, name: string) {
    const s = this.secrets.get(`${ns}/${name}`);
    return s ? this.meta(s) : undefined;
  }

  async list(ns: string, opts: { limit: number; after?: string | undefined }) {
    const all = [...this.secrets.values()]
      .filter((s) => s.namespace === ns && (!opts.after || s.name > opts.after))
      .sort((a, b) => a.name.localeCompare(b.name));
    return { items: all.slice(0, opts.limit).map((s) => this.meta(s)), more: all.length > opts.limit };
  }

  async delete(ns: string, name: string) {
    const s = this.secrets.get(`${ns}/${name}`);
    this.secrets.delete(`${ns}/${name}`);
    return s ? this.meta(s) : undefined;
  }

  async credentials(ns: string): Promise<SecretCredentials[]> {
    return [...this.secrets.values()]
      .filter((s) => s.namespace === ns)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => ({ namespace: s.namespace, name: s.name, uid: s.uid, sealed: s.sealed }));
  }

  /** Nothing in memory was ever stored in clear. */
  async *unsealedRecords(): AsyncGenerator<UnsealedRecord[]> {
    yield [];
  }

  async sealInPlace() {
    return false;
  }
}

/** The schedule's indexes as lists a test fills, and its budgets, windows and back-offs as counters. */
export class FakeSchedule implements ScheduleRepository {
  due: IndexedTag[] = [];
  tracking: Array<IndexedTag & { repository: string; sourceTag: string }> = [];
  readonly tokens = new Map<string, number>();
  readonly windows = new Map<string, number>();
  readonly backoffs = new Map<string, Backoff>();

  async *dueTags(): AsyncGenerator<IndexedTag[]> {
    yield clone(this.due);
  }

  async trackingTags(repository: string, tag: string | undefined) {
    return this.tracking
      .filter((t) => t.repository === repository && (tag === undefined || t.sourceTag === tag))
      .map(({ repository: _r, sourceTag: _s, ...t }) => t);
  }

  async takeTokens(scope: string, limit: number, nowMs: number, n = 1) {
    const key = `${scope}|${Math.floor(nowMs / 60_000)}`;
    const used = this.tokens.get(key) ?? 0;
    if (used + n > limit) return false;
    this.tokens.set(key, used + n);
    return true;
  }

  async claimWindow(key: string, nowMs: number, windowMs: number) {
    const until = this.windows.get(key);
    if (until !== undefined && until > nowMs) return false;
    this.windows.set(key, nowMs + windowMs);
    return true;
  }

  async getBackoff(registry: string) {
    return clone(this.backoffs.get(registry));
  }

  async recordRateLimit(registry: string, retryAfterMs: number, nowMs: number, maxMs: number) {
    const strikes = (this.backoffs.get(registry)?.strikes ?? 0) + 1;
    const b = { until: nowMs + Math.min(maxMs, retryAfterMs), strikes };
    this.backoffs.set(registry, b);
    return clone(b);
  }

  async pause(registry: string, untilMs: number) {
    this.backoffs.set(registry, { until: untilMs, strikes: this.backoffs.get(registry)?.strikes ?? 0 });
  }

  async clearBackoff(registry: string) {
    this.backoffs.delete(registry);
  }
}

/** A registry of images a test puts in, by `host/path:tag` and `host/path@digest`; counts what it served. */
export class FakeRegistry implements ImageRegistry {
  readonly images = new Map<string, Image>();
  readonly requests: string[] = [];

  /** Serves `image` as `<host>/<path>:<tag>` and by its digest. */
  push(repository: string, tag: string, image: Image): void {
    this.images.set(`${repository}:${tag}`, image);
    this.images.set(`${repository}@${image.metadata.name}`, image);
  }

  async fetchImage(target: RepositoryTarget, req: ImageFetch): Promise<FetchedImage> {
    const repo = `${target.host}/${target.path}`;
    const byDigest = req.reference.includes(':');
    const found = this.images.get(`${repo}${byDigest ? '@' : ':'}${req.reference}`);
    this.requests.push(`${req.recheck ? 'HEAD' : 'GET'} ${repo} ${req.reference}`);
    if (!found) throw new RegistryError('not-found', `manifest unknown: ${req.reference}`, { status: 404 });
    const digest = found.metadata.name as string;
    const known = await req.known(digest);
    const image: Image = {
      ...clone(known ?? found),
      dockerImageReference: `${req.repositoryAsWritten}@${digest}`,
    };
    return { remoteDigest: digest, image, newImages: known ? [] : [image] };
  }

  async listTags(target: RepositoryTarget): Promise<string[]> {
    const prefix = `${target.host}/${target.path}:`;
    return [...this.images.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  quota() {
    return undefined;
  }
}

/** Manifests pulled through streams, per project (functions/app/ports/manifests.ts). */
export class FakeManifests implements ManifestRepository {
  readonly stored = new Map<string, StoredManifest>();

  async get(ns: string, digest: string) {
    return this.stored.get(`${ns}@${digest}`);
  }

  async put(ns: string, m: StoredManifest) {
    this.stored.set(`${ns}@${m.digest}`, m);
  }

  async listing(ns: string, blob: string) {
    return [...this.stored.entries()]
      .filter(([k, m]) => k.startsWith(`${ns}@`) && m.references.includes(blob))
      .map(([, m]) => m.digest);
  }
}

/** Upstream manifests and blobs by digest for pulls through streams; records every request with its repository. */
export class FakePullThrough implements PullThroughRegistry {
  readonly manifests = new Map<string, ManifestBytes>();
  readonly blobs = new Map<string, Buffer | { redirect: string }>();
  readonly requests: string[] = [];

  async getManifest(target: RepositoryTarget, digest: string): Promise<ManifestBytes> {
    this.requests.push(`manifest ${target.host}/${target.path}@${digest}`);
    const m = this.manifests.get(digest);
    if (!m) throw new RegistryError('not-found', `manifest unknown: ${digest}`, { status: 404 });
    return m;
  }

  async openBlob(target: RepositoryTarget, digest: string): Promise<BlobSource> {
    this.requests.push(`blob ${target.host}/${target.path}@${digest}`);
    const b = this.blobs.get(digest);
    if (!b) throw new RegistryError('not-found', `blob unknown: ${digest}`, { status: 404 });
    if (!Buffer.isBuffer(b)) return { kind: 'redirect', location: b.redirect };
    const bytes: Buffer = b;
    async function* chunks() {
      for (let at = 0; at < bytes.length; at += 4) yield bytes.subarray(at, at + 4);
    }
    return { kind: 'stream', size: bytes.length, body: chunks(), cancel: () => undefined };
  }
}

/** Jobs a use case queued, in order. */
export class FakeJobSink implements JobSink {
  readonly jobs: Array<{ job: Job; delayMs: number | undefined }> = [];

  async enqueue(jobs: Job[], delayMs?: number) {
    for (const job of jobs) this.jobs.push({ job: clone(job), delayMs });
  }
}

export interface FakeParts {
  streams: FakeStreams;
  images: FakeImages;
  projects: FakeProjects;
  secrets: FakeSecrets;
  schedule: FakeSchedule;
  registry: FakeRegistry;
  jobs: FakeJobSink;
  metrics: FakeMetrics;
}

/** Metrics recorded in memory: `points` in order, `total(role)` sums a metric. */
export class FakeMetrics implements MetricsRecorder {
  readonly points: Array<{ role: MetricRole; value: number; breakdown?: Readonly<Record<string, string>> }> =
    [];

  record(role: MetricRole, value = 1, breakdown?: Readonly<Record<string, string>>): void {
    this.points.push({ role, value, ...(breakdown ? { breakdown } : {}) });
  }

  total(role: MetricRole): number {
    return this.points.filter((p) => p.role === role).reduce((sum, p) => sum + p.value, 0);
  }
}

/** Cluster administrators in the fake context: members of this group. */
export const ADMINS = 'system:cluster-admins';

/**
 * A whole application context over the fakes, with a clock that ticks a second per call and predictable uids and
 * tag incarnation ids. `caller` makes it a request-scoped context (defaults to a cluster administrator).
 */
export function fakeContext(
  opts: { caller?: Identity | null; parts?: Partial<FakeParts> } = {},
): AppContext & { fakes: FakeParts } {
  const projects = opts.parts?.projects ?? new FakeProjects();
  const fakes: FakeParts = {
    streams: new FakeStreams(),
    images: new FakeImages(),
    projects,
    secrets: new FakeSecrets(projects),
    schedule: new FakeSchedule(),
    registry: new FakeRegistry(),
    jobs: new FakeJobSink(),
    metrics: new FakeMetrics(),
    ...opts.parts,
  };
  let seconds = Date.UTC(2026, 0, 1) / 1000;
  let uids = 0;
  let tids = 0;
  const caller = opts.caller === null ? undefined : (opts.caller ?? { user: 'admin', groups: [ADMINS] });
  return {
    ...fakes,
    fakes,
    sealer: noSealer,
    rules: { defaultImportMode: 'Legacy', internalRegistryHostname: 'registry.local' },
    clock: () => new Date(seconds++ * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    newUid: () => `uid-${++uids}`,
    newTid: () => `tid-${++tids}`,
    tagWrites: new KeyedQueue(),
    imports: {
      allowedRegistries: [],
      maxBulkImported: 50,
      platform: { os: 'linux', architecture: 'amd64' },
      timeoutMs: 5_000,
      jobTimeoutMs: 5_000,
    },
    scheduling: {
      intervalSeconds: 900,
      tickSeconds: 60,
      perMinute: 100,
      perRegistryPerMinute: 100,
      pushCoalesceMs: 0,
    },
    access: { clusterAdminGroups: [ADMINS], projectRequesterGroups: [], cacheMs: 0 },
    ...(caller ? { caller } : { systemActor: SYSTEM_ACTORS.controller }),
  };
}

/** A project the fake context's users work in, with `bindings` (role → users). */
export async function fakeProject(
  ctx: { projects: ProjectRepository },
  name: string,
  bindings: Record<string, string[]> = {},
): Promise<void> {
  await ctx.projects.createProject(
    {
      name,
      uid: `project-${name}`,
      resourceVersion: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
      requester: 'admin',
      displayName: '',
      description: '',
      phase: 'Active',
      by: 'admin',
    },
    Object.entries(bindings).map(([role, users]) => ({
      namespace: name,
      name: role,
      uid: `binding-${name}-${role}`,
      resourceVersion: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
      role,
      subjects: users.map((u) => ({ kind: 'User' as const, name: u })),
      labels: {},
      annotations: {},
      by: 'admin',
    })),
  );
}
