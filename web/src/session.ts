// What every signed-in page can reach: the API client, who the user is, the live fleet.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api.ts';
import type { FleetState } from './fleet-state.ts';
import type { WhoamiView } from './types.ts';

export interface Session {
  api: Api;
  whoami: WhoamiView;
  fleet: FleetState;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside a signed-in page');
  return session;
}
