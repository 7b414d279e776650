import { useState } from 'preact/hooks';
import { type Api, ApiError } from '../api';
import { ErrorMessage, Loading, type Outcome, OutcomeMessage } from '../components';
import { useLoad } from '../hooks';
import { paths } from '../paths';
import type { RoleBinding, Subject } from '../types';

const RBAC = 'rbac.authorization.k8s.io';
const ROLES = ['admin', 'edit', 'view', 'system:image-puller', 'system:image-pusher', 'system:image-builder'];

const subjectText = (s: Subject) =>
  s.kind === 'ServiceAccount'
    ? `ServiceAccount ${s.namespace ? `${s.namespace}/` : ''}${s.name}`
    : `${s.kind} ${s.name}`;

/**
 * The project's role bindings. The service's rule table grants reading and writing bindings together (only
 * `admin`, or a cluster administrator, may do either: docs/access.md), so a user who can list them may edit them
 * and gets the controls; anyone else sees the server's Forbidden instead of the list. Every write still goes to
 * the server, which decides.
 */
export function RoleBindings(props: { api: Api; ns: string }) {
  const { api, ns } = props;
  const bindings = useLoad((signal) => api.listAll<RoleBinding>(paths.rolebindings(ns), signal), [api, ns]);
  const [outcome, setOutcome] = useState<Outcome>();
  const [role, setRole] = useState('view');
  const [kind, setKind] = useState<'User' | 'Group'>('User');
  const [name, setName] = useState('');

  if (bindings.loading && !bindings.data) return <Loading what="role bindings" />;
  if (bindings.error !== undefined) {
    const forbidden = bindings.error instanceof ApiError && bindings.error.code === 403;
    return (
      <>
        {forbidden && <p>Only the project's administrators can see and change who holds which role.</p>}
        <ErrorMessage error={bindings.error} what="Role bindings" />
      </>
    );
  }
  const list = bindings.data ?? [];

  /** oc policy add-role-to-…: into the first binding of the role, else a new one named after the role. */
  const add = async (e: Event) => {
    e.preventDefault();
    const who = name.trim();
    if (!who)
      return setOutcome({ ok: false, error: new Error('Name the user or group.'), what: 'Not added' });
    const existing = list.find((b) => b.roleRef.name === role);
    const subject: Subject = { kind, apiGroup: RBAC, name: who };
    const body: RoleBinding = existing
      ? { ...existing, subjects: [...(existing.subjects ?? []), subject] }
      : {
          apiVersion: `${RBAC}/v1`,
          kind: 'RoleBinding',
          metadata: { name: uniqueName(role, list) },
          roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
          subjects: [subject],
        };
    try {
      await api.put(paths.rolebindings(ns, body.metadata.name), body);
      setOutcome({ ok: true, text: `${kind} ${who} now has the role ${role} in ${ns}.` });
      setName('');
      bindings.reload();
    } catch (err) {
      setOutcome({ ok: false, error: err, what: `Could not give ${who} the role ${role}` });
    }
  };

  const remove = async (b: RoleBinding, s: Subject) => {
    const rest = (b.subjects ?? []).filter((x) => x !== s);
    try {
      if (rest.length === 0) await api.delete(paths.rolebindings(ns, b.metadata.name));
      else await api.put(paths.rolebindings(ns, b.metadata.name), { ...b, subjects: rest });
      setOutcome({
        ok: true,
        text: `${subjectText(s)} no longer has the role ${b.roleRef.name} through ${b.metadata.name}.`,
      });
      bindings.reload();
    } catch (err) {
      setOutcome({ ok: false, error: err, what: `Could not remove ${s.name}` });
    }
  };

  return (
    <>
      <table>
        <caption class="visually-hidden">Role bindings of {ns}</caption>
        <thead>
          <tr>
            <th scope="col">Binding</th>
            <th scope="col">Role</th>
            <th scope="col">Subjects</th>
          </tr>
        </thead>
        <tbody>
          {list.map((b) => (
            <tr key={b.metadata.name}>
              <th scope="row">{b.metadata.name}</th>
              <td>{b.roleRef.name}</td>
              <td>
                <ul class="subjects">
                  {(b.subjects ?? []).map((s) => (
                    <li key={subjectText(s)}>
                      {subjectText(s)}{' '}
                      <button type="button" class="link" onClick={() => remove(b, s)}>
                        Remove {s.name} from {b.roleRef.name}
                      </button>
                    </li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={add} class="inline-form">
        <label for="grant-kind">Subject kind</label>
        <select
          id="grant-kind"
          value={kind}
          onChange={(e) => setKind(e.currentTarget.value as 'User' | 'Group')}
        >
          <option value="User">User</option>
          <option value="Group">Group</option>
        </select>
        <label for="grant-name">Name</label>
        <input id="grant-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <label for="grant-role">Role</label>
        <select id="grant-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <button type="submit">Give role</button>
      </form>
      <OutcomeMessage outcome={outcome} />
    </>
  );
}

function uniqueName(role: string, list: RoleBinding[]): string {
  const taken = new Set(list.map((b) => b.metadata.name));
  const base = role.replace(/[^a-z0-9-]/g, '-');
  if (!taken.has(base)) return base;
  for (let i = 0; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}
