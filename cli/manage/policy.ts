import type { Command } from 'commander';
import type { ApiClient } from '../client';
import { CliError } from '../errors';
import { paths } from '../paths';
import { type Io, runtimeFor } from '../runtime';
import { deleteTarget, KINDS, reasonOf } from './objects';
import { Failures } from './report';

/**
 * `isctl policy`, as `oc policy` does it: a role is granted by adding subjects to a RoleBinding of that role in
 * the project (the one named by --rolebinding-name, else the first binding of the role, else a new binding named
 * after the role) and taken away by removing them from every binding of the role (a binding left without
 * subjects is deleted). Writes keep the binding's resourceVersion and start over when someone else wrote first.
 * The server validates the role (admin, edit, view, system:image-puller, system:image-pusher,
 * system:image-builder) and who may grant it.
 */

const RBAC = 'rbac.authorization.k8s.io';
const ATTEMPTS = 5;

export interface Subject {
  kind: string;
  apiGroup?: string;
  name: string;
  namespace?: string;
}

export interface Binding {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string; [k: string]: unknown };
  roleRef: { apiGroup?: string; kind?: string; name?: string };
  subjects?: Subject[];
}

type SubjectKind = 'User' | 'Group';

/** A user named `system:serviceaccount:<ns>:<name>` is that service account, as oc builds subjects. */
export function subjectFor(kind: SubjectKind, name: string): Subject {
  if (kind === 'User') {
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(name);
    if (sa) return { kind: 'ServiceAccount', name: sa[2]!, namespace: sa[1]! };
  }
  return { kind, apiGroup: RBAC, name };
}

export function sameSubject(a: Subject, b: Subject, namespace: string): boolean {
  if (a.kind !== b.kind || a.name !== b.name) return false;
  return a.kind !== 'ServiceAccount' || (a.namespace || namespace) === (b.namespace || namespace);
}

/** `ROLE`, else `ROLE-0`, `ROLE-1`…: the first name no binding has (oc's getUniqueName). */
export function uniqueBindingName(role: string, taken: Set<string>): string {
  if (!taken.has(role)) return role;
  for (let i = 0; ; i++) if (!taken.has(`${role}-${i}`)) return `${role}-${i}`;
}

/** Go's %q of one name or of a list: `"alice"`, `["alice" "bob"]` (what oc prints). */
export function quoteNames(names: string[]): string {
  const q = names.map((n) => JSON.stringify(n));
  return q.length === 1 ? q[0]! : `[${q.join(' ')}]`;
}

const isRole = (b: Binding, role: string) => b.roleRef?.kind === 'ClusterRole' && b.roleRef.name === role;

function checkNamedBinding(b: Binding | undefined, name: string, role: string): void {
  if (b && !isRole(b, role))
    throw new CliError(`rolebinding ${name} found for role ${b.roleRef?.name ?? ''}, not ${role}`);
}

async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const reason = reasonOf(e);
      if (attempt < ATTEMPTS && (reason === 'Conflict' || reason === 'AlreadyExists')) continue;
      throw e;
    }
  }
}

/** Adds the subjects to a binding of `role` (creating one when there is none); no write if all are there. */
export async function addRole(
  client: ApiClient,
  ns: string,
  role: string,
  subjects: Subject[],
  bindingName?: string,
): Promise<void> {
  await retrying(async () => {
    const bindings = await client.listAll<Binding>(paths.rolebindings(ns));
    let binding: Binding | undefined;
    if (bindingName) {
      binding = bindings.find((b) => b.metadata.name === bindingName);
      checkNamedBinding(binding, bindingName, role);
    } else {
      binding = bindings.find((b) => isRole(b, role));
    }
    if (binding) {
      const current = binding.subjects ?? [];
      const missing = subjects.filter((s) => !current.some((c) => sameSubject(c, s, ns)));
      if (missing.length === 0) return;
      await client.put(paths.rolebindings(ns, binding.metadata.name), {
        ...binding,
        subjects: [...current, ...missing],
      });
      return;
    }
    const name = bindingName ?? uniqueBindingName(role, new Set(bindings.map((b) => b.metadata.name)));
    await client.post(paths.rolebindings(ns), {
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: { name, namespace: ns },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
      subjects,
    });
  });
}

/** Removes the subjects from every binding of `role` (or the named one); returns the subjects found and removed. */
export async function removeRole(
  client: ApiClient,
  ns: string,
  role: string,
  subjects: Subject[],
  bindingName?: string,
): Promise<Subject[]> {
  const removed: Subject[] = [];
  const note = (s: Subject) => {
    if (!removed.some((r) => sameSubject(r, s, ns))) removed.push(s);
  };
  await retrying(async () => {
    const all = await client.listAll<Binding>(paths.rolebindings(ns));
    let bindings: Binding[];
    if (bindingName) {
      const named = all.find((b) => b.metadata.name === bindingName);
      checkNamedBinding(named, bindingName, role);
      bindings = named ? [named] : [];
    } else {
      bindings = all.filter((b) => isRole(b, role));
    }
    for (const b of bindings) {
      const current = b.subjects ?? [];
      const keep = current.filter((c) => !subjects.some((s) => sameSubject(c, s, ns)));
      if (keep.length === current.length) continue;
      if (keep.length === 0) await deleteTarget(client, KINDS.RoleBinding, ns, b.metadata.name, true);
      else await client.put(paths.rolebindings(ns, b.metadata.name), { ...b, subjects: keep });
      for (const s of subjects) if (current.some((c) => sameSubject(c, s, ns))) note(s);
    }
  });
  return removed;
}

export function registerPolicyCommands(program: Command, io: Io): void {
  const policy = program
    .command('policy')
    .description('Grant and revoke roles in a project (role bindings), as oc policy does');
  const help = `
Roles: admin, edit, view, system:image-puller, system:image-pusher, system:image-builder (docs/access.md).
A user named system:serviceaccount:<project>:<name> is bound as that service account.`;

  for (const [command, kind, adding] of [
    ['add-role-to-user', 'User', true],
    ['add-role-to-group', 'Group', true],
    ['remove-role-from-user', 'User', false],
    ['remove-role-from-group', 'Group', false],
  ] as Array<[string, SubjectKind, boolean]>) {
    const who = kind === 'User' ? 'users' : 'groups';
    policy
      .command(command)
      .description(
        adding
          ? `Give ${who} a role in the project (adds them to a role binding of that role, or creates one)`
          : `Take a role from ${who} (removes them from every role binding of that role in the project)`,
      )
      .argument('<role>', 'role name, e.g. edit')
      .argument(`<${who}...>`, `${kind === 'User' ? 'user' : 'group'} names`)
      .option(
        '--rolebinding-name <name>',
        'use this role binding (created when missing) instead of searching',
      )
      .addHelpText(
        'after',
        `${help}

Example:
  isctl policy ${command} ${adding ? 'edit' : 'view'} ${kind === 'User' ? 'alice bob' : 'developers'} -n team-a`,
      )
      .action(async (role: string, names: string[], opts: { rolebindingName?: string }, cmd: Command) => {
        const rt = runtimeFor(cmd, io);
        const ns = rt.project();
        const client = rt.client();
        const unique = [...new Set(names)];
        const subjects = unique.map((n) => subjectFor(kind, n));
        if (adding) {
          await addRole(client, ns, role, subjects, opts.rolebindingName);
          io.out(`clusterrole.rbac.authorization.k8s.io/${role} added: ${quoteNames(unique)}`);
          return;
        }
        const removed = await removeRole(client, ns, role, subjects, opts.rolebindingName);
        const removedNames = unique.filter((_n, i) => removed.some((r) => sameSubject(r, subjects[i]!, ns)));
        if (removedNames.length > 0)
          io.out(`clusterrole.rbac.authorization.k8s.io/${role} removed: ${quoteNames(removedNames)}`);
        const failures = new Failures(io);
        for (const n of unique)
          if (!removedNames.includes(n))
            failures.add(
              `${kind === 'User' ? 'user' : 'group'} "${n}" has no role binding ${opts.rolebindingName ? `"${opts.rolebindingName}" ` : ''}for role "${role}" in project "${ns}"; nothing to remove`,
            );
        failures.finish();
      });
  }
}
