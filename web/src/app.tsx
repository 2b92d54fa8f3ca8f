// The page: sign-in until a token is accepted, then the header, the live
// fleet feed and the routed page.
import { useMemo, useState } from 'preact/hooks';
import { Api } from './api.ts';
import { useFleet } from './fleet-state.ts';
import { ClusterPage } from './pages/cluster.tsx';
import { FleetPage } from './pages/fleet.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { useRoute } from './router.ts';
import { SessionContext, type Session } from './session.ts';
import type { WhoamiView } from './types.ts';

interface SignedIn {
  api: Api;
  whoami: WhoamiView;
}

export function App() {
  const [signedIn, setSignedIn] = useState<SignedIn | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  if (signedIn === null) {
    const onSignedIn = (token: string, whoami: WhoamiView): void => {
      setNotice(null);
      // A 401 later (token revoked, user deleted) ends the session with a message.
      const api = new Api(token, () => { setNotice('The hub no longer accepts your token. Sign in again.'); setSignedIn(null); });
      setSignedIn({ api, whoami });
    };
    return <SignIn notice={notice} onSignedIn={onSignedIn} />;
  }
  const signOut = (message: string | null): void => { setNotice(message); setSignedIn(null); };
  return <SignedInApp {...signedIn} signOut={signOut} />;
}

function SignedInApp(props: SignedIn & { signOut(message: string | null): void }) {
  const fleet = useFleet(props.api);
  const route = useRoute();
  const session: Session = useMemo(
    () => ({ api: props.api, whoami: props.whoami, fleet, signOut: () => { props.signOut(null); } }),
    [props.api, props.whoami, fleet],
  );
  return (
    <SessionContext.Provider value={session}>
      <header class="topbar">
        <a class="brand" href="#/">Uplink</a>
        <nav aria-label="Main"><a href="#/" aria-current={route.page === 'fleet' ? 'page' : undefined}>Fleet</a></nav>
        <span class="spacer" />
        <span class="who">Signed in as <strong>{props.whoami.user.name}</strong></span>
        <button type="button" class="quiet" onClick={() => { props.signOut(null); }}>Sign out</button>
      </header>
      {fleet.problem && (
        <div class="banner error" role="alert">
          {fleet.problem.message} Retrying in {Math.max(0, Math.ceil((fleet.problem.retryAt - Date.now()) / 1000))} s.
        </div>
      )}
      <main id="main">
        {route.page === 'fleet' && <FleetPage query={route.query} />}
        {route.page === 'cluster' && <ClusterPage route={route} />}
        {route.page === 'missing' && <section class="empty"><h1>Nothing here</h1><p>No page at “{route.path}”. <a href="#/">Back to the fleet</a>.</p></section>}
      </main>
    </SessionContext.Provider>
  );
}
