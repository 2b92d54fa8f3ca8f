// A live list of one kind in one cluster: the hub's resource feed
// (ADDED… SYNCED, then changes), kept as rows by uid. When the feed ends
// (link dropped, agent restarted, reader too slow) it resubscribes after a
// pause; refusals that a retry cannot fix (403, 404, 400) are shown and kept.
import { useEffect, useState } from 'preact/hooks';
import { apiPath, ApiError, describeError } from './api.ts';
import { useSession } from './session.ts';
import type { ResourceChange, ResourceRow } from './types.ts';

export interface LiveList {
  rows: ResourceRow[];
  synced: boolean;
  error: { message: string; status: number; retrying: boolean } | null;
}

const RETRY_MS = 2000;
const FINAL_STATUSES = new Set([400, 403, 404]);

export function useLiveList(cluster: string, kind: string, namespace: string, enabled: boolean): LiveList {
  const { api } = useSession();
  const [state, setState] = useState<LiveList>({ rows: [], synced: false, error: null });
  useEffect(() => {
    setState({ rows: [], synced: false, error: null });
    if (!enabled) return;
    const abort = new AbortController();
    // A function, not the property: the loop's awaits can see it change.
    const stopped = (): boolean => abort.signal.aborted;
    void (async () => {
      while (!abort.signal.aborted) {
        const rows = new Map<string, ResourceRow>();
        let synced = false;
        let ended = 'the feed ended';
        let status = 0;
        let flush = 0;
        const publish = (): void => {
          flush = 0;
          setState({ rows: [...rows.values()], synced, error: null });
        };
        try {
          await api.events(apiPath(['clusters', cluster, 'watch', kind], { namespace }), {
            onEvent: (_name, data) => {
              const change = data as ResourceChange;
              if (change.type === 'ERROR') { ended = change.message; return; }
              if (change.type === 'SYNCED') synced = true;
              else if (change.type === 'DELETED') rows.delete(change.row.uid);
              else rows.set(change.row.uid, change.row);
              // Changes arrive in bursts (the initial ADDED lines); draw at most once a frame.
              if (synced && flush === 0) flush = requestAnimationFrame(publish);
            },
          }, abort.signal);
        } catch (error) {
          if (stopped()) return;
          ended = describeError(error);
          status = error instanceof ApiError ? error.status : 0;
        }
        if (stopped()) return;
        const retrying = !FINAL_STATUSES.has(status);
        setState((s) => ({ ...s, error: { message: ended, status, retrying } }));
        if (!retrying) return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    })();
    return () => { abort.abort(); };
  }, [api, cluster, kind, namespace, enabled]);
  return state;
}
