import { useEffect, useRef, useState } from 'preact/hooks';
import { type Api, ApiError, describeError } from '../api';
import { Digest, ErrorMessage, Loading, Page, PullSpec, Time } from '../components';
import { useLoad, useNow } from '../hooks';
import { howOf, pullSpecOf, rollbackTag, shortDigest } from '../model';
import { paths, withQuery } from '../paths';
import type { ImageStream, ImageStreamTag, ImageStreamTagHistory, TagHistoryEntry } from '../types';
import { TimelineChart } from './Timeline';

/** History entries per page of the history resource. */
export const PAGE_SIZE = 20;

interface TagView {
  stream: ImageStream;
  entries: TagHistoryEntry[];
  total: number;
  cont: string | undefined;
}

/**
 * The stream (for the spec tag and the resourceVersion a rollback carries) and the first page of the tag's
 * history, from the same version of the stream: read again when a write came between the two reads, as
 * `isctl rollback` does. A tag without history yet has no entries.
 */
async function loadTag(
  api: Api,
  ns: string,
  stream: string,
  tag: string,
  signal: AbortSignal,
): Promise<TagView> {
  for (let attempt = 0; ; attempt++) {
    const s = await api.get<ImageStream>(
      withQuery(paths.imagestreams(ns, stream), { historyLimit: 10 }),
      signal,
    );
    let page: ImageStreamTagHistory | undefined;
    try {
      page = await api.get<ImageStreamTagHistory>(
        withQuery(paths.tagHistory(ns, `${stream}:${tag}`), { limit: PAGE_SIZE }),
        signal,
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
    if (!page || page.metadata.resourceVersion === s.metadata.resourceVersion || attempt >= 3)
      return {
        stream: s,
        entries: page?.items ?? [],
        total: page?.total ?? 0,
        cont: page?.metadata.continue,
      };
  }
}

type RollbackState =
  | { phase: 'confirm'; entry: TagHistoryEntry }
  | { phase: 'writing'; entry: TagHistoryEntry }
  | { phase: 'done'; text: string }
  | { phase: 'failed'; error: unknown; conflict: boolean };

/** A tag's timeline: the whole history, paged, as a chart and a table, and a rollback to any entry. */
export function TagScreen(props: { api: Api; ns: string; stream: string; tag: string }) {
  const { api, ns, stream, tag } = props;
  const now = useNow();
  const loaded = useLoad((signal) => loadTag(api, ns, stream, tag, signal), [api, ns, stream, tag]);
  const [older, setOlder] = useState<{ entries: TagHistoryEntry[]; cont: string | undefined }>();
  const [olderError, setOlderError] = useState<unknown>();
  const [rollback, setRollback] = useState<RollbackState>();
  const view = loaded.data;
  // A fresh first page (after a reload) starts the paging over.
  useEffect(() => setOlder(undefined), [view]);
  const entries = view ? [...view.entries, ...(older?.entries ?? [])] : [];
  const cont = older ? older.cont : view?.cont;
  const current = entries[0];
  const spec = view?.stream.spec.tags?.find((t) => t.name === tag);
  const name = `${stream}:${tag}`;

  const loadOlder = async () => {
    if (!cont) return;
    setOlderError(undefined);
    try {
      const page = await api.get<ImageStreamTagHistory>(
        withQuery(paths.tagHistory(ns, name), { limit: PAGE_SIZE, continue: cont }),
      );
      setOlder({ entries: [...(older?.entries ?? []), ...page.items], cont: page.metadata.continue });
    } catch (e) {
      setOlderError(e);
    }
  };

  const confirm = async (entry: TagHistoryEntry) => {
    if (!view) return;
    setRollback({ phase: 'writing', entry });
    try {
      const result = await api.put<ImageStreamTag>(paths.imagestreamtags(ns, name), {
        kind: 'ImageStreamTag',
        apiVersion: 'image.openshift.io/v1',
        metadata: {
          name,
          namespace: ns,
          // The version this page showed: if the tag moved since, the server answers 409 instead of overwriting.
          resourceVersion: view.stream.metadata.resourceVersion,
          ...(spec?.annotations ? { annotations: spec.annotations } : {}),
        },
        tag: rollbackTag(spec, tag, stream, entry.image),
      });
      setRollback({
        phase: 'done',
        text: `Rolled back ${name} from ${shortDigest(current?.image ?? '')} to ${shortDigest(result.image.metadata.name ?? entry.image)}.`,
      });
      loaded.reload();
    } catch (e) {
      setRollback({ phase: 'failed', error: e, conflict: e instanceof ApiError && e.code === 409 });
    }
  };

  return (
    <Page
      title={name}
      trail={[
        { label: 'Projects', route: { name: 'projects' } },
        { label: ns, route: { name: 'project', ns } },
        { label: stream, route: { name: 'stream', ns, stream } },
      ]}
    >
      {loaded.loading && !view && <Loading what="the tag history" />}
      {loaded.error !== undefined && <ErrorMessage error={loaded.error} what={`Reading ${name} failed`} />}
      {view && (
        <>
          <dl class="facts">
            <dt>Pull spec</dt>
            <dd>
              <PullSpec spec={pullSpecOf(view.stream, tag)} of={name} />
            </dd>
            <dt>Source</dt>
            <dd>
              {spec?.from ? (
                <code>
                  {spec.from.kind} {spec.from.namespace ? `${spec.from.namespace}/` : ''}
                  {spec.from.name}
                </code>
              ) : (
                'pushed (no spec tag)'
              )}
              {spec?.importPolicy?.scheduled ? ' · re-imported on a schedule' : ''}
            </dd>
            <dt>History</dt>
            <dd>
              {view.total} entr{view.total === 1 ? 'y' : 'ies'}, {entries.length} shown
            </dd>
          </dl>
          <RollbackStatus
            state={rollback}
            onReload={() => {
              setRollback(undefined);
              loaded.reload();
            }}
          />
          {entries.length === 0 ? (
            <p>{name} has not pointed to an image yet.</p>
          ) : (
            <>
              <h2>Timeline</h2>
              <TimelineChart tag={name} entries={entries} now={now} complete={!cont} />
              <h2 id="history-heading">History</h2>
              <table class="history" aria-labelledby="history-heading">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Digest</th>
                    <th scope="col">When</th>
                    <th scope="col">Who</th>
                    <th scope="col">How</th>
                    <th scope="col">Pull spec</th>
                    <th scope="col">Action</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((e, i) => (
                    <tr key={`${i}:${e.created}:${e.image}`}>
                      <td>{view.total - i}</td>
                      <th scope="row">
                        <Digest digest={e.image} />
                      </th>
                      <td>
                        <Time iso={e.created} />
                      </td>
                      <td>{e.by}</td>
                      <td>{howOf(entries, i, view.stream, tag)}</td>
                      <td>
                        <code class="wrap">{e.dockerImageReference}</code>
                      </td>
                      <td>
                        {e.image === current?.image ? (
                          <span class="current">{i === 0 ? 'current' : 'same as current'}</span>
                        ) : (
                          <button type="button" onClick={() => setRollback({ phase: 'confirm', entry: e })}>
                            Roll back to {shortDigest(e.image)}
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {olderError !== undefined && (
                <ErrorMessage error={olderError} what="Loading older entries failed" />
              )}
              {cont && (
                <button type="button" onClick={loadOlder}>
                  Load older entries
                </button>
              )}
            </>
          )}
        </>
      )}
      {current && (rollback?.phase === 'confirm' || rollback?.phase === 'writing') && (
        <RollbackDialog
          name={name}
          from={current}
          to={rollback.entry}
          warning={
            spec?.from?.kind === 'DockerImage'
              ? `${name} imports from ${spec.from.name}${spec.importPolicy?.scheduled ? ' on a schedule' : ''}; after the rollback it points to a fixed image and is no longer re-imported until it is tagged from the registry again.`
              : undefined
          }
          busy={rollback.phase === 'writing'}
          onConfirm={() => confirm(rollback.entry)}
          onCancel={() => setRollback(undefined)}
        />
      )}
    </Page>
  );
}

function RollbackStatus(props: { state: RollbackState | undefined; onReload: () => void }) {
  const s = props.state;
  if (s?.phase === 'done')
    return (
      <p role="status" class="message ok">
        {s.text}
      </p>
    );
  if (s?.phase !== 'failed') return null;
  if (s.conflict)
    return (
      <div role="alert" class="message error">
        <strong>Conflict: the tag changed since this page was loaded; nothing was rolled back.</strong>{' '}
        {describeError(s.error)}{' '}
        <button type="button" onClick={props.onReload}>
          Reload the history
        </button>
      </div>
    );
  return <ErrorMessage error={s.error} what="Rollback refused" />;
}

/** The confirmation: names both digests in full; the modal dialog keeps the focus until it is answered. */
function RollbackDialog(props: {
  name: string;
  from: TagHistoryEntry;
  to: TagHistoryEntry;
  warning: string | undefined;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby="rollback-title"
      aria-describedby="rollback-what"
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id="rollback-title">Roll back {props.name}?</h2>
      <div id="rollback-what">
        <p>
          {props.name} points to <code class="wrap">{props.from.image}</code> now.
        </p>
        <p>
          It will point to <code class="wrap">{props.to.image}</code> again (the entry of{' '}
          {new Date(props.to.created).toLocaleString()} by {props.to.by}). The newer entries stay in the
          history.
        </p>
        {props.warning && <p class="message warning">{props.warning}</p>}
      </div>
      <div class="dialog-buttons">
        <button type="button" class="primary" disabled={props.busy} onClick={props.onConfirm}>
          Roll back
        </button>
        <button type="button" disabled={props.busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
