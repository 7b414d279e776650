import { useEffect, useState } from 'preact/hooks';
import { type Api, ApiError } from '../api';
import { Digest, ErrorMessage } from '../components';
import { paths } from '../paths';
import type { ImageStream, ImageStreamImport } from '../types';

interface Result {
  tag: string;
  ok: boolean;
  image?: string;
  message: string;
}

interface Done {
  results: Result[];
  repositoryFailure?: string;
  additionalTags: string[];
  seconds: number;
}

/**
 * POST imagestreamimports, as `isctl import-image` sends it: one tag (`spec.images`) or a whole repository
 * (`spec.repository`), carrying the stream's resourceVersion so an import never overwrites a change it did not
 * see (on 409 the stream is read again and the import decided again, a few times). The server imports in one
 * request; while it runs the form shows the time spent, then what happened to each tag.
 */
export function ImportForm(props: { api: Api; ns: string; onImported: () => void }) {
  const [stream, setStream] = useState('');
  const [tag, setTag] = useState('latest');
  const [from, setFrom] = useState('');
  const [all, setAll] = useState(false);
  const [scheduled, setScheduled] = useState(false);
  const [insecure, setInsecure] = useState(false);
  const [started, setStarted] = useState<number | undefined>();
  const [elapsed, setElapsed] = useState(0);
  const [done, setDone] = useState<Done | undefined>();
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    if (started === undefined) return;
    const t = setInterval(() => setElapsed((Date.now() - started) / 1000), 200);
    return () => clearInterval(t);
  }, [started]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(undefined);
    setError(undefined);
    const name = stream.trim();
    if (!name) return setError(new Error('Name the image stream to import into.'));
    if (all && !from.trim()) return setError(new Error('Name the repository to import all tags from.'));
    const t0 = Date.now();
    setStarted(t0);
    setElapsed(0);
    try {
      const answer = await importWithRetry(props.api, props.ns, name, tag.trim() || 'latest', from.trim(), {
        all,
        scheduled,
        insecure,
      });
      setDone(summarizeImport(answer, all ? undefined : tag.trim() || 'latest', (Date.now() - t0) / 1000));
      props.onImported();
    } catch (err) {
      setError(err);
    } finally {
      setStarted(undefined);
    }
  };

  const busy = started !== undefined;
  return (
    <form onSubmit={submit} class="import-form" aria-describedby="import-help">
      <p id="import-help" class="hint">
        Copies the image's metadata (never its layers) into a tag; the stream is created when it does not
        exist. Leave "From" empty to re-import a tag from where it imports already.
      </p>
      <div class="fields">
        <label for="import-stream">Stream</label>
        <input id="import-stream" value={stream} onInput={(e) => setStream(e.currentTarget.value)} required />
        <label for="import-tag">Tag</label>
        <input id="import-tag" value={tag} disabled={all} onInput={(e) => setTag(e.currentTarget.value)} />
        <label for="import-from">From</label>
        <input
          id="import-from"
          value={from}
          placeholder="registry.example.com/team/app:1.2"
          onInput={(e) => setFrom(e.currentTarget.value)}
        />
      </div>
      <div class="checks">
        <label>
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} /> Every tag
          of the repository
        </label>
        <label>
          <input
            type="checkbox"
            checked={scheduled}
            onChange={(e) => setScheduled(e.currentTarget.checked)}
          />{' '}
          Re-import on a schedule
        </label>
        <label>
          <input type="checkbox" checked={insecure} onChange={(e) => setInsecure(e.currentTarget.checked)} />{' '}
          Plain HTTP registry (insecure)
        </label>
      </div>
      <button type="submit" class="primary" disabled={busy}>
        Import
      </button>
      {busy && (
        <p class="progress">
          <progress aria-label="Import in progress" /> Importing{all ? ' every tag of the repository' : ''}…{' '}
          {elapsed.toFixed(1)} s
        </p>
      )}
      {error !== undefined && <ErrorMessage error={error} what="Import refused" />}
      {done && <ImportResults done={done} />}
    </form>
  );
}

async function importWithRetry(
  api: Api,
  ns: string,
  name: string,
  tag: string,
  from: string,
  opts: { all: boolean; scheduled: boolean; insecure: boolean },
): Promise<ImageStreamImport> {
  for (let attempt = 1; ; attempt++) {
    let existing: ImageStream | undefined;
    try {
      existing = await api.get<ImageStream>(paths.imagestreams(ns, name));
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 404) throw e;
    }
    const spec = existing?.spec.tags?.find((t) => t.name === tag);
    const source = from || (spec?.from?.kind === 'DockerImage' ? (spec.from.name ?? '') : '');
    if (!source)
      throw new Error(
        spec
          ? `${name}:${tag} does not import from a registry (its source is ${spec.from?.kind ?? 'none'}): name the image to import in "From"`
          : 'Name the image to import in "From".',
      );
    const importPolicy = {
      insecure: opts.insecure || !!spec?.importPolicy?.insecure,
      scheduled: opts.scheduled || !!spec?.importPolicy?.scheduled,
      importMode: spec?.importPolicy?.importMode || 'Legacy',
    } as const;
    const isi: ImageStreamImport = {
      kind: 'ImageStreamImport',
      apiVersion: 'image.openshift.io/v1',
      metadata: {
        name,
        namespace: ns,
        ...(existing?.metadata.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      spec: opts.all
        ? { import: true, repository: { from: { kind: 'DockerImage', name: source }, importPolicy } }
        : {
            import: true,
            images: [{ from: { kind: 'DockerImage', name: source }, to: { name: tag }, importPolicy }],
          },
      status: {},
    };
    try {
      return await api.post<ImageStreamImport>(paths.imagestreamimports(ns), isi);
    } catch (e) {
      if (e instanceof ApiError && e.code === 409 && attempt < 3) continue;
      throw e;
    }
  }
}

function summarizeImport(answer: ImageStreamImport, tag: string | undefined, seconds: number): Done {
  const results: Result[] = [];
  for (const i of answer.status.images ?? [])
    results.push(resultOf(tag ?? i.tag ?? '', i.status.status !== 'Failure' && !!i.image, i));
  const repo = answer.status.repository;
  for (const i of repo?.images ?? [])
    results.push(resultOf(i.tag ?? '', i.status.status !== 'Failure' && !!i.image, i));
  const repoFailed =
    repo?.status.status === 'Failure' && !(repo.images ?? []).some((i) => i.status.status === 'Failure');
  return {
    results,
    ...(repoFailed ? { repositoryFailure: repo?.status.message || repo?.status.reason || 'failed' } : {}),
    additionalTags: repo?.additionalTags ?? [],
    seconds,
  };
}

function resultOf(
  tag: string,
  ok: boolean,
  i: { status: { message?: string; reason?: string }; image?: { metadata: { name?: string } } },
): Result {
  return {
    tag: tag || '(by digest)',
    ok,
    ...(i.image?.metadata.name ? { image: i.image.metadata.name } : {}),
    message: ok ? 'imported' : `${i.status.reason ?? 'Failed'}: ${i.status.message ?? 'import failed'}`,
  };
}

function ImportResults(props: { done: Done }) {
  const { results, repositoryFailure, additionalTags, seconds } = props.done;
  const ok = results.filter((r) => r.ok).length;
  return (
    <div class="import-results">
      <p role="status" class={ok === results.length && !repositoryFailure ? 'message ok' : 'message error'}>
        Imported {ok} of {results.length} tag{results.length === 1 ? '' : 's'} in {seconds.toFixed(1)} s
        {repositoryFailure ? `; the repository failed: ${repositoryFailure}` : ''}.
      </p>
      {results.length > 0 && (
        <ul>
          {results.map((r) => (
            <li key={r.tag} class={r.ok ? '' : 'failed'}>
              <strong>{r.tag}</strong>: {r.message} {r.image && <Digest digest={r.image} />}
            </li>
          ))}
        </ul>
      )}
      {additionalTags.length > 0 && (
        <p>
          {additionalTags.length} more tag{additionalTags.length === 1 ? ' was' : 's were'} not imported (the
          server imports at most its limit per request): {additionalTags.join(', ')}
        </p>
      )}
    </div>
  );
}
