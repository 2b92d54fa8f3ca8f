// Add-ons of one cluster, and one add-on's page: release, health, drift,
// history, last operation, with Rollback and Sync for edit and admin (the
// hub refuses them to view users in any case). Statuses are re-read every
// 2 s while the page is open.
import { useEffect, useState } from 'preact/hooks';
import { apiPath, describeError } from '../api.ts';
import { HealthBadge, Notice } from '../components/bits.tsx';
import { localTime } from '../format.ts';
import { href } from '../router.ts';
import { useSession } from '../session.ts';
import type { AddonOperationAnswer, AddonView, FleetItem } from '../types.ts';

const POLL_MS = 2000;

interface Polled<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

function usePolled<T>(path: string): Polled<T> {
  const { api } = useSession();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async (): Promise<void> => {
      try {
        const answer = await api.get<T>(path);
        if (!stopped) { setData(answer); setError(null); }
      } catch (failure) {
        if (!stopped) setError(describeError(failure));
      }
      if (!stopped) timer = setTimeout(() => { void load(); }, POLL_MS);
    };
    void load();
    return () => { stopped = true; clearTimeout(timer); };
  }, [api, path, round]);
  return { data, error, reload: () => { setRound((r) => r + 1); } };
}

export function AddonsTab(props: { cluster: FleetItem; addon: string | undefined }) {
  if (props.addon !== undefined) return <AddonPage cluster={props.cluster} name={props.addon} />;
  return <AddonList cluster={props.cluster} />;
}

function AddonList(props: { cluster: FleetItem }) {
  const { data, error } = usePolled<{ items: AddonView[] }>(apiPath(['clusters', props.cluster.name, 'addons']));
  if (error && !data) return <Notice kind="error">{error}</Notice>;
  if (!data) return <Notice kind="loading">Loading add-ons…</Notice>;
  if (data.items.length === 0) return <Notice kind="empty">No add-ons on this cluster. Add one with <code>uplink addons set {props.cluster.name} NAME --chart …</code>.</Notice>;
  return (
    <div class="table-wrap">
      <table class="grid" aria-label="Add-ons">
        <thead><tr><th scope="col">Add-on</th><th scope="col">Chart</th><th scope="col">Phase</th><th scope="col">Revision</th><th scope="col">Health</th><th scope="col">Drift</th><th scope="col">In sync</th></tr></thead>
        <tbody>
          {data.items.map((addon) => (
            <tr key={addon.name} data-addon={addon.name}>
              <th scope="row"><a href={href(['clusters', props.cluster.name, 'addons', addon.name])}>{addon.name}</a></th>
              <td>{chartOf(addon)} {addon.spec.version}</td>
              <td>{addon.deletedAt ? 'Deleting' : addon.status?.phase ?? 'Pending'}</td>
              <td>{addon.status?.release?.revision ?? '—'}</td>
              <td><HealthBadge health={addon.status?.health?.status} /></td>
              <td>{addon.status?.drift?.state ?? '—'}</td>
              <td>{addon.status ? (addon.status.inSync ? 'yes' : 'no') : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The chart as an operator names it: repo chart, OCI reference, or Git path. */
function chartOf(addon: AddonView): string {
  const source = addon.spec.source;
  if ('repo' in source) return source.repo.chart;
  if ('oci' in source) return source.oci.ref;
  return `${source.git.url}//${source.git.path}`;
}

function AddonPage(props: { cluster: FleetItem; name: string }) {
  const path = apiPath(['clusters', props.cluster.name, 'addons', props.name]);
  const { data: addon, error, reload } = usePolled<AddonView>(path);
  const canOperate = props.cluster.role === 'edit' || props.cluster.role === 'admin';
  const back = <p><a href={href(['clusters', props.cluster.name, 'addons'])}>← All add-ons</a></p>;
  if (error && !addon) return <div>{back}<Notice kind="error">{error}</Notice></div>;
  if (!addon) return <Notice kind="loading">Loading {props.name}…</Notice>;
  const status = addon.status;
  const release = status?.release;
  return (
    <div>
      {back}
      <h2>Add-on {addon.name}</h2>
      {error && <Notice kind="error">{error}</Notice>}
      <dl class="facts">
        <div><dt>Phase</dt><dd data-testid="addon-phase">{status?.phase ?? 'Pending'}</dd></div>
        <div><dt>Message</dt><dd>{status?.message || '—'}</dd></div>
        <div><dt>Revision</dt><dd data-testid="addon-revision">{release?.revision ?? '—'}</dd></div>
        <div><dt>Release</dt><dd>{release ? `${release.chart} ${release.chartVersion} (app ${release.appVersion || '—'}) in ${release.namespace}, ${release.status}: ${release.description}` : 'none'}</dd></div>
        <div><dt>Health</dt><dd data-testid="addon-health"><HealthBadge health={status?.health?.status} /> {status?.health?.message}</dd></div>
        <div><dt>Drift</dt><dd>{status?.drift ? `${status.drift.state} (${status.drift.inspected} objects compared ${localTime(status.drift.checkedAt)})` : 'not checked yet'}</dd></div>
        <div><dt>In sync</dt><dd>{status ? (status.inSync ? 'yes' : 'no') : '—'} · generation {addon.generation}</dd></div>
        <div><dt>Sync window</dt><dd>{status?.syncWindow ? (status.syncWindow.open ? `open until ${localTime(status.syncWindow.closesAt)}` : `closed until ${localTime(status.syncWindow.opensAt)}`) : 'none (changes apply at any time)'}</dd></div>
        <div><dt>Last operation</dt><dd data-testid="addon-last-operation">{status?.lastOperation ? `${status.lastOperation.action} (${status.lastOperation.trigger}${status.lastOperation.requestedBy ? ` by ${status.lastOperation.requestedBy}` : ''}): ${status.lastOperation.result}${status.lastOperation.message ? ` — ${status.lastOperation.message}` : ''}` : '—'}</dd></div>
      </dl>
      {canOperate
        ? <Operations cluster={props.cluster.name} addon={addon} onDone={reload} />
        : <p class="muted" data-testid="view-only">Your role on this cluster is {props.cluster.role}: rollback and sync need edit or admin.</p>}
      {status?.health && status.health.objects.length > 0 && (
        <section aria-label="Objects"><h3>Objects ({status.health.objectCount})</h3>
          <ul class="plain">{status.health.objects.map((o) => <li key={`${o.kind}/${o.namespace ?? ''}/${o.name}`}><HealthBadge health={o.status} /> {o.kind}/{o.name} {o.message && <span class="muted">— {o.message}</span>}</li>)}</ul>
        </section>
      )}
      {status?.drift && status.drift.objects.length > 0 && (
        <section aria-label="Drift"><h3>Drifted objects</h3>
          <ul class="plain">{status.drift.objects.map((o) => <li key={`${o.kind}/${o.namespace ?? ''}/${o.name}`}><strong>{o.state}</strong> {o.kind}/{o.name}: {o.paths.join(', ') || o.message}</li>)}</ul>
        </section>
      )}
      <section aria-label="History">
        <h3>History</h3>
        {!status || status.history.length === 0 ? <p class="muted">No revisions yet.</p> : (
          <table class="grid" aria-label="Revisions">
            <thead><tr><th scope="col">Revision</th><th scope="col">Updated</th><th scope="col">Status</th><th scope="col">Chart</th><th scope="col">Description</th></tr></thead>
            <tbody>{[...status.history].reverse().map((r) => <tr key={r.revision} data-revision={r.revision}><td>{r.revision}</td><td>{localTime(r.updated)}</td><td>{r.status}</td><td>{r.chart}</td><td>{r.description}</td></tr>)}</tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function Operations(props: { cluster: string; addon: AddonView; onDone(): void }) {
  const { api } = useSession();
  const history = props.addon.status?.history ?? [];
  const current = props.addon.status?.release?.revision;
  const targets = history.filter((r) => r.revision !== current).map((r) => r.revision).reverse();
  const [target, setTarget] = useState<string>('');
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const chosen = target || String(targets[0] ?? '');
  const run = async (action: 'rollback' | 'sync'): Promise<void> => {
    setConfirming(false);
    try {
      const body = action === 'rollback' ? { revision: Number(chosen) } : {};
      const answer = await api.post<AddonOperationAnswer>(apiPath(['clusters', props.cluster, 'addons', props.addon.name, action]), body);
      setMessage({ kind: 'ok', text: `${action === 'rollback' ? `Rollback to revision ${chosen}` : 'Sync'} queued (operation ${answer.operationId}); the status below follows it.` });
      props.onDone();
    } catch (error) {
      setMessage({ kind: 'error', text: describeError(error) });
    }
  };
  return (
    <section class="operations" aria-label="Operations">
      <h3>Operations</h3>
      <div class="filters">
        <button type="button" onClick={() => { void run('sync'); }}>Sync now</button>
        <label for="rollback-to">Roll back to revision</label>
        <select id="rollback-to" value={chosen} disabled={targets.length === 0} onChange={(e) => { setTarget((e.target as HTMLSelectElement).value); }}>
          {targets.length === 0 && <option value="">no other revision</option>}
          {targets.map((r) => <option key={r} value={String(r)}>{r}</option>)}
        </select>
        {!confirming
          ? <button type="button" disabled={targets.length === 0} onClick={() => { setConfirming(true); }}>Roll back…</button>
          : <>
            <button type="button" class="danger" onClick={() => { void run('rollback'); }}>Confirm rollback to {chosen}</button>
            <button type="button" class="quiet" onClick={() => { setConfirming(false); }}>Cancel</button>
          </>}
      </div>
      {message && <p class={message.kind === 'ok' ? 'banner ok' : 'banner error'} role={message.kind === 'ok' ? 'status' : 'alert'}>{message.text}</p>}
    </section>
  );
}
