import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api';
import {
  Digest,
  ErrorMessage,
  Loading,
  type Outcome,
  OutcomeMessage,
  Page,
  PullSpec,
  Time,
} from '../components';
import { useLoad } from '../hooks';
import { followersOf, importFailure, parseTagName, pullSpecOf, tagInto } from '../model';
import { paths, withQuery } from '../paths';
import { href } from '../router';
import type { ImageStream, ImageStreamTag, TagReference } from '../types';

/** A stream: each tag's exact pull spec, where it comes from, its policies, who follows it, its conditions. */
export function StreamScreen(props: { api: Api; ns: string; stream: string }) {
  const { api, ns, stream } = props;
  const loaded = useLoad(
    (signal) => api.get<ImageStream>(withQuery(paths.imagestreams(ns, stream), { historyLimit: 1 }), signal),
    [api, ns, stream],
  );
  const [outcome, setOutcome] = useState<Outcome>();
  const s = loaded.data;
  const names = s
    ? [
        ...new Set([...(s.spec.tags ?? []).map((t) => t.name), ...(s.status?.tags ?? []).map((t) => t.tag)]),
      ].sort()
    : [];

  /** importPolicy.scheduled on or off: the spec tag as it is, written back with the resourceVersion shown. */
  const setScheduled = async (spec: TagReference, on: boolean): Promise<boolean> => {
    if (!s) return false;
    let ok = false;
    const { annotations, ...tag } = spec;
    try {
      await api.put<ImageStreamTag>(paths.imagestreamtags(ns, `${stream}:${spec.name}`), {
        kind: 'ImageStreamTag',
        apiVersion: 'image.openshift.io/v1',
        metadata: {
          name: `${stream}:${spec.name}`,
          namespace: ns,
          resourceVersion: s.metadata.resourceVersion,
          ...(annotations ? { annotations } : {}),
        },
        tag: { ...tag, importPolicy: { ...tag.importPolicy, scheduled: on } },
      });
      setOutcome({
        ok: true,
        text: on
          ? `${spec.name} is now re-imported on a schedule.`
          : `${spec.name} is no longer re-imported on a schedule.`,
      });
      ok = true;
    } catch (e) {
      setOutcome({ ok: false, error: e, what: `Could not change the schedule of ${spec.name}` });
    }
    loaded.reload();
    return ok;
  };

  return (
    <Page
      title={stream}
      trail={[
        { label: 'Projects', route: { name: 'projects' } },
        { label: ns, route: { name: 'project', ns } },
      ]}
    >
      {loaded.loading && !s && <Loading what="the image stream" />}
      {loaded.error !== undefined && <ErrorMessage error={loaded.error} what={`Reading ${stream} failed`} />}
      {s && (
        <>
          <dl class="facts">
            {(s.status?.publicDockerImageRepository || s.status?.dockerImageRepository) && (
              <>
                <dt>Repository</dt>
                <dd>
                  <PullSpec
                    spec={s.status?.publicDockerImageRepository || s.status?.dockerImageRepository}
                    of={`the ${stream} repository`}
                  />
                </dd>
              </>
            )}
            {s.spec.dockerImageRepository && (
              <>
                <dt>Imports from</dt>
                <dd>
                  <code>{s.spec.dockerImageRepository}</code>
                </dd>
              </>
            )}
            <dt>Created</dt>
            <dd>
              <Time iso={s.metadata.creationTimestamp ?? undefined} />
            </dd>
          </dl>
          <OutcomeMessage outcome={outcome} />
          <section aria-labelledby="tags-heading">
            <h2 id="tags-heading">Tags</h2>
            {names.length === 0 ? (
              <p>No tags yet.</p>
            ) : (
              <table class="tags">
                <caption class="visually-hidden">Tags of {stream}</caption>
                <thead>
                  <tr>
                    <th scope="col">Tag</th>
                    <th scope="col">Pull spec</th>
                    <th scope="col">Source</th>
                    <th scope="col">Policies</th>
                    <th scope="col">Followed by</th>
                    <th scope="col">Updated</th>
                    <th scope="col">Conditions</th>
                  </tr>
                </thead>
                <tbody>
                  {names.map((name) => (
                    <TagRow key={name} stream={s} name={name} ns={ns} onScheduled={setScheduled} />
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-labelledby="tag-heading">
            <h2 id="tag-heading">Tag an image</h2>
            <TagForm
              api={api}
              stream={s}
              tags={names}
              onDone={(o) => {
                setOutcome(o);
                loaded.reload();
              }}
            />
          </section>
        </>
      )}
    </Page>
  );
}

function TagRow(props: {
  stream: ImageStream;
  name: string;
  ns: string;
  onScheduled: (spec: TagReference, on: boolean) => Promise<boolean>;
}) {
  const { stream, name } = props;
  const spec = stream.spec.tags?.find((t) => t.name === name);
  const status = stream.status?.tags?.find((t) => t.tag === name);
  const current = status?.items?.[0];
  const failure = importFailure(status);
  const followers = followersOf(stream, name);
  const from = spec?.from;
  return (
    <tr>
      <th scope="row">
        <a href={href({ name: 'tag', ns: props.ns, stream: stream.metadata.name ?? '', tag: name })}>
          {name}
        </a>
      </th>
      <td>
        <PullSpec spec={pullSpecOf(stream, name)} of={name} />
        {current && (
          <div>
            <Digest digest={current.image} />
          </div>
        )}
      </td>
      <td>
        {from ? (
          <>
            <span class="kind">
              {from.kind === 'ImageStreamTag'
                ? 'follows'
                : from.kind === 'ImageStreamImage'
                  ? 'image'
                  : 'registry'}
            </span>{' '}
            <code>
              {from.namespace ? `${from.namespace}/` : ''}
              {from.name}
            </code>
          </>
        ) : (
          'pushed'
        )}
      </td>
      <td>
        <ul class="badges">
          {spec?.importPolicy?.scheduled && <li class="badge">Scheduled</li>}
          {spec?.referencePolicy?.type === 'Local' && <li class="badge">Local</li>}
          {spec?.reference && <li class="badge">Reference</li>}
          {spec?.importPolicy?.importMode === 'PreserveOriginal' && <li class="badge">PreserveOriginal</li>}
          {spec?.importPolicy?.insecure && <li class="badge">Insecure</li>}
        </ul>
        {spec && from?.kind === 'DockerImage' && (
          <ScheduledToggle spec={spec} onScheduled={props.onScheduled} />
        )}
      </td>
      <td>{followers.length ? followers.join(', ') : '—'}</td>
      <td>
        <Time iso={current?.created} />
      </td>
      <td>
        {failure ? (
          <span class="badge bad" title={failure.message}>
            ImportSuccess=False: {failure.reason} {failure.message}
          </span>
        ) : (
          (status?.conditions ?? []).map((c) => (
            <span key={c.type} class="badge">
              {c.type}={c.status}
            </span>
          ))
        )}
      </td>
    </tr>
  );
}

/**
 * The scheduled re-import switch of one tag. While the write runs it shows the value asked for (disabled); after
 * a success it keeps showing it until the reloaded stream says the same, after a refusal it shows the stream's.
 */
function ScheduledToggle(props: {
  spec: TagReference;
  onScheduled: (spec: TagReference, on: boolean) => Promise<boolean>;
}) {
  const actual = !!props.spec.importPolicy?.scheduled;
  const [wanted, setWanted] = useState<boolean>();
  const [writing, setWriting] = useState(false);
  useEffect(() => setWanted(undefined), [actual]);
  const change = async (on: boolean) => {
    setWanted(on);
    setWriting(true);
    const ok = await props.onScheduled(props.spec, on);
    setWriting(false);
    if (!ok) setWanted(undefined);
  };
  return (
    <label class="toggle">
      <input
        type="checkbox"
        checked={wanted ?? actual}
        disabled={writing}
        onChange={(e) => change(e.currentTarget.checked)}
      />{' '}
      Scheduled re-import of {props.spec.name}
    </label>
  );
}

/** `isctl tag` and `isctl tag --alias` from one tag of this stream into another tag (of any stream here). */
function TagForm(props: { api: Api; stream: ImageStream; tags: string[]; onDone: (o: Outcome) => void }) {
  const { api, stream } = props;
  const streamName = stream.metadata.name ?? '';
  const ns = stream.metadata.namespace ?? '';
  const [source, setSource] = useState(props.tags[0] ?? '');
  const [dest, setDest] = useState('');
  const [alias, setAlias] = useState(false);
  const [error, setError] = useState<unknown>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const target = parseTagName(dest, streamName);
    if (!target) return setError(new Error('The destination is a tag name, or stream:tag.'));
    if (alias && target.stream !== streamName)
      return setError(new Error('An alias must be in the same image stream as the tag it follows.'));
    const image = stream.status?.tags?.find((t) => t.tag === source)?.items?.[0]?.image;
    try {
      const tag = tagInto(streamName, source, image, target.tag, alias);
      const name = `${target.stream}:${target.tag}`;
      await api.put(paths.imagestreamtags(ns, name), {
        kind: 'ImageStreamTag',
        apiVersion: 'image.openshift.io/v1',
        metadata: { name, namespace: ns },
        tag,
      });
      props.onDone({
        ok: true,
        text: alias
          ? `Tag ${name} set up to track ${streamName}:${source}.`
          : `Tag ${name} set to ${streamName}@${image}.`,
      });
      setDest('');
    } catch (err) {
      setError(err);
    }
  };

  if (props.tags.length === 0) return <p>Import or push an image first.</p>;
  return (
    <form onSubmit={submit} class="inline-form">
      <label for="tag-source">Source tag</label>
      <select id="tag-source" value={source} onChange={(e) => setSource(e.currentTarget.value)}>
        {props.tags.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      <label for="tag-dest">Destination</label>
      <input
        id="tag-dest"
        value={dest}
        placeholder="prod or other-stream:prod"
        onInput={(e) => setDest(e.currentTarget.value)}
      />
      <fieldset>
        <legend>Kind</legend>
        <label>
          <input type="radio" name="tag-kind" checked={!alias} onChange={() => setAlias(false)} /> Snapshot
          (the image it points to now)
        </label>
        <label>
          <input type="radio" name="tag-kind" checked={alias} onChange={() => setAlias(true)} /> Alias
          (follows the source tag)
        </label>
      </fieldset>
      <button type="submit">Tag</button>
      {error !== undefined && <ErrorMessage error={error} what="Not tagged" />}
    </form>
  );
}
