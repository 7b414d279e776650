import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, describeError } from './api';
import { type ConsoleConfig, completeSignIn, loadConfig, session } from './auth';
import { paths } from './paths';
import { useRoute } from './router';
import { Login } from './screens/Login';
import { ProjectScreen } from './screens/Project';
import { Projects } from './screens/Projects';
import { StreamScreen } from './screens/Stream';
import { TagScreen } from './screens/Tag';
import type { User } from './types';
import './styles.css';

type Auth =
  | { state: 'starting' }
  | { state: 'out'; notice?: string }
  | { state: 'in'; token: string; user: User };

function App(props: { config: ConsoleConfig; signInError?: string }) {
  const { config, signInError } = props;
  const [auth, setAuth] = useState<Auth>({ state: 'starting' });
  const route = useRoute();

  useEffect(() => {
    (async () => {
      if (signInError) return setAuth({ state: 'out', notice: signInError });
      const token = session.token();
      if (!token) return setAuth({ state: 'out' });
      try {
        const user = await new Api(config.apiBase, token, () => undefined).get<User>(paths.whoami());
        setAuth({ state: 'in', token, user });
      } catch (e) {
        session.clear();
        setAuth({ state: 'out', notice: `Log in again: ${describeError(e)}` });
      }
    })();
  }, [config, signInError]);

  const token = auth.state === 'in' ? auth.token : undefined;
  const api = useMemo(
    () =>
      token
        ? new Api(config.apiBase, token, (message) => {
            session.clear();
            setAuth({ state: 'out', notice: `Your session ended (${message}); log in again.` });
          })
        : undefined,
    [token, config.apiBase],
  );

  const logOut = () => {
    session.clear();
    setAuth({ state: 'out', notice: 'Logged out.' });
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/projects">
          imagestreams console
        </a>
        {auth.state === 'in' && (
          <span class="who">
            Signed in as <strong>{auth.user.metadata.name}</strong>{' '}
            <button type="button" class="link" onClick={logOut}>
              Log out
            </button>
          </span>
        )}
      </header>
      <main id="main">
        {auth.state === 'starting' && <p role="status">Starting…</p>}
        {auth.state === 'out' && (
          <Login
            config={config}
            {...(auth.notice ? { notice: auth.notice } : {})}
            onToken={(t, user) => {
              session.save(t);
              setAuth({ state: 'in', token: t, user });
            }}
          />
        )}
        {api && route.name === 'projects' && <Projects api={api} />}
        {api && route.name === 'project' && <ProjectScreen key={route.ns} api={api} ns={route.ns} />}
        {api && route.name === 'stream' && (
          <StreamScreen key={`${route.ns}/${route.stream}`} api={api} ns={route.ns} stream={route.stream} />
        )}
        {api && route.name === 'tag' && (
          <TagScreen
            key={`${route.ns}/${route.stream}:${route.tag}`}
            api={api}
            ns={route.ns}
            stream={route.stream}
            tag={route.tag}
          />
        )}
      </main>
    </>
  );
}

/**
 * A sign-in callback is finished before the first render: it puts the user back on the screen they signed in
 * from, which the router reads at its start.
 */
async function start(): Promise<void> {
  const config = await loadConfig();
  let signInError: string | undefined;
  try {
    if (config.oidc) await completeSignIn(config.oidc);
  } catch (e) {
    signInError = describeError(e);
  }
  render(<App config={config} {...(signInError ? { signInError } : {})} />, document.getElementById('app')!);
}

void start();
