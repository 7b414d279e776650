import { useEffect, useRef, useState } from 'preact/hooks';
import { Api, describeError } from '../api';
import { type ConsoleConfig, startSignIn } from '../auth';
import { paths } from '../paths';
import type { User } from '../types';

/**
 * Signing in. With an OIDC issuer configured (AWS) the console sends the user to its sign-in page; otherwise
 * (local mode) it asks for a bearer token and checks it with "who am I" before keeping it.
 */
export function Login(props: {
  config: ConsoleConfig;
  notice?: string;
  onToken: (token: string, user: User) => void;
}) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(props.notice);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = 'Log in · imagestreams console';
    heading.current?.focus();
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('Enter a bearer token.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const api = new Api(props.config.apiBase, value, () => undefined);
      const user = await api.get<User>(paths.whoami());
      props.onToken(value, user);
    } catch (err) {
      setError(`The token was not accepted. ${describeError(err)}`);
      setBusy(false);
    }
  };

  const oidc = props.config.oidc;
  return (
    <div class="login">
      <h1 tabIndex={-1} ref={heading}>
        Log in
      </h1>
      {error && (
        <p role="alert" class="message error" id="login-error">
          {error}
        </p>
      )}
      {oidc ? (
        <>
          <p>Sign in with your organisation's identity provider ({new URL(oidc.issuer).host}).</p>
          <button
            type="button"
            class="primary"
            onClick={() => startSignIn(oidc).catch((e: unknown) => setError(describeError(e)))}
          >
            Sign in
          </button>
        </>
      ) : (
        <form onSubmit={submit}>
          <p>
            Paste a bearer token of the API: locally the admin token (<code>.data/admin-token</code>) or one
            from <code>tokens.json</code>. It is kept in this tab only.
          </p>
          <label for="token">Token</label>
          <input
            id="token"
            name="token"
            type="password"
            autocomplete="off"
            spellcheck={false}
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            aria-describedby={error ? 'login-error' : undefined}
            aria-invalid={error ? true : undefined}
          />
          <button type="submit" class="primary" disabled={busy}>
            Log in
          </button>
        </form>
      )}
    </div>
  );
}
