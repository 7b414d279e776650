import { useState } from 'preact/hooks';
import type { Api } from '../api';
import { Digest, ErrorMessage, Loading, Page, Time } from '../components';
import { useLoad } from '../hooks';
import { projectEvents, summarize } from '../model';
import { paths, withQuery } from '../paths';
import { href } from '../router';
import type { ImageStream } from '../types';
import { ImportForm } from './ImportForm';
import { RoleBindings } from './RoleBindings';

/** Recent events per tag the streams list asks for (the most the stream view keeps). */
const HISTORY_LIMIT = 10;

/** A project: its streams at a glance, its recent tag changes, importing, and who may do what. */
export function ProjectScreen(props: { api: Api; ns: string }) {
  const { api, ns } = props;
  const streams = useLoad(
    (signal) =>
      api.listAll<ImageStream>(
        withQuery(paths.imagestreams(ns), { historyLimit: HISTORY_LIMIT }),
        signal,
        100,
      ),
    [api, ns],
  );
  const [filter, setFilter] = useState('');
  const shown = (streams.data ?? []).filter((s) => (s.metadata.name ?? '').includes(filter.trim()));
  return (
    <Page title={ns} trail={[{ label: 'Projects', route: { name: 'projects' } }]}>
      <section aria-labelledby="streams-heading">
        <h2 id="streams-heading">Image streams</h2>
        {streams.loading && !streams.data && <Loading what="image streams" />}
        {streams.error !== undefined && (
          <ErrorMessage error={streams.error} what="Listing image streams failed" />
        )}
        {streams.data && streams.data.length === 0 && <p>No image streams yet: import an image below.</p>}
        {streams.data && streams.data.length > 5 && (
          <p>
            <label for="stream-filter">Filter streams</label>{' '}
            <input
              id="stream-filter"
              type="search"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
            />
          </p>
        )}
        {shown.length > 0 && (
          <table>
            <caption class="visually-hidden">Image streams of {ns}</caption>
            <thead>
              <tr>
                <th scope="col">Stream</th>
                <th scope="col">Tags</th>
                <th scope="col">Last update</th>
                <th scope="col">Import failures</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => {
                const sum = summarize(s);
                return (
                  <tr key={sum.name}>
                    <th scope="row">
                      <a href={href({ name: 'stream', ns, stream: sum.name })}>{sum.name}</a>
                    </th>
                    <td>{sum.tags}</td>
                    <td>
                      <Time iso={sum.lastUpdated} />
                    </td>
                    <td>
                      {sum.failing.length === 0 ? (
                        'none'
                      ) : (
                        <ul class="failures">
                          {sum.failing.map((f) => (
                            <li key={f.tag}>
                              <span class="badge bad">{f.tag}</span> {f.message}
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Recent tag changes</h2>
        <p class="hint">
          From each tag's newest {HISTORY_LIMIT} history entries in its stream; a tag's whole history is on
          its timeline.
        </p>
        {streams.data && <ProjectEvents ns={ns} streams={streams.data} />}
      </section>

      <section aria-labelledby="import-heading">
        <h2 id="import-heading">Import an image</h2>
        <ImportForm api={api} ns={ns} onImported={streams.reload} />
      </section>

      <section aria-labelledby="bindings-heading">
        <h2 id="bindings-heading">Role bindings</h2>
        <RoleBindings api={api} ns={ns} />
      </section>
    </Page>
  );
}

function ProjectEvents(props: { ns: string; streams: ImageStream[] }) {
  const events = projectEvents(props.streams, HISTORY_LIMIT, 30);
  if (events.length === 0) return <p>No tag has pointed to an image yet.</p>;
  return (
    <table>
      <caption class="visually-hidden">Recent tag changes in {props.ns}, newest first</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Tag</th>
          <th scope="col">Change</th>
          <th scope="col">Image</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={`${e.stream}:${e.tag}@${e.created}:${e.image}`}>
            <td>
              <Time iso={e.created} />
            </td>
            <td>
              <a href={href({ name: 'tag', ns: props.ns, stream: e.stream, tag: e.tag })}>
                {e.stream}:{e.tag}
              </a>
            </td>
            <td>{e.change}</td>
            <td>
              <Digest digest={e.image} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
