// Sign-in with an API token (from `uplink login` or `uplink users token`).
// The token goes into memory only; it is checked with GET /api/v1/whoami.
import { useState } from 'preact/hooks';
import { Api, ApiError, describeError } from '../api.ts';
import type { WhoamiView } from '../types.ts';

export function SignIn(props: { notice: string | null; onSignedIn(token: string, whoami: WhoamiView): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const value = token.trim();
    if (!/^upk_[a-z0-9]{1,63}_[A-Za-z0-9_-]{43}$/.test(value)) {
      setError('That is not an API token: it looks like upk_<id>_<secret>. A cluster token (upc_…) cannot sign in.');
      return;
    }
    setBusy(true);
    setError(null);
    const api = new Api(value, () => undefined);
    try {
      const whoami = await api.get<WhoamiView>('/api/v1/whoami');
      props.onSignedIn(value, whoami);
    } catch (failure) {
      setError(failure instanceof ApiError && failure.status === 401 ? 'The hub did not accept that token: it is unknown, revoked, or its user was deleted.' : describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form onSubmit={(e) => { void submit(e); }} aria-describedby="signin-help">
        <h1>Uplink</h1>
        <p id="signin-help">Sign in with an API token. It stays in this tab's memory: reloading the page signs you out.</p>
        {props.notice && <p class="banner warn" role="status">{props.notice}</p>}
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} required
          value={token} onInput={(e) => { setToken((e.target as HTMLInputElement).value); }} />
        {error && <p class="field-error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
