import type { Api } from '../api';
import { ErrorMessage, Loading, Page, Time } from '../components';
import { useLoad } from '../hooks';
import { paths } from '../paths';
import { href } from '../router';
import type { Project } from '../types';

/** The projects the user can see (the server lists only those where they hold a role that may get them). */
export function Projects(props: { api: Api }) {
  const projects = useLoad((signal) => props.api.listAll<Project>(paths.projects(), signal), [props.api]);
  return (
    <Page title="Projects" trail={[]}>
      {projects.loading && !projects.data && <Loading what="projects" />}
      {projects.error !== undefined && <ErrorMessage error={projects.error} what="Listing projects failed" />}
      {projects.data?.length === 0 && (
        <p>
          You can see no project yet. Create one with <code>isctl new-project NAME</code>, or ask a project's
          administrator for a role in theirs.
        </p>
      )}
      {projects.data && projects.data.length > 0 && (
        <table>
          <caption class="visually-hidden">Projects you can see</caption>
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Display name</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {projects.data.map((p) => (
              <tr key={p.metadata.name}>
                <th scope="row">
                  <a href={href({ name: 'project', ns: p.metadata.name })}>{p.metadata.name}</a>
                </th>
                <td>{p.metadata.annotations?.['openshift.io/display-name'] ?? ''}</td>
                <td>{p.status?.phase ?? ''}</td>
                <td>
                  <Time iso={p.metadata.creationTimestamp} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
