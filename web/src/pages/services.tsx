// Services of one cluster published through the hub's gateway: each opens at
// its gateway URL (the browser signs in to the gateway once); admins of the
// cluster publish a Service port and withdraw it here, as with `uplink expose`.
import { useEffect, useState } from 'preact/hooks';
import { apiPath, describeError } from '../api.ts';
import { Notice } from '../components/bits.tsx';
import { localTime } from '../format.ts';
import { useSession } from '../session.ts';
import type { ExposureView, FleetItem, Role } from '../types.ts';

const ROLES: readonly Role[] = ['view', 'edit', 'admin'];

export function ServicesTab(props: { cluster: FleetItem }) {
  const { api } = useSession();
  const [items, setItems] = useState<ExposureView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const path = apiPath(['clusters', props.cluster.name, 'exposures']);
  useEffect(() => {
    let stopped = false;
    api.get<{ items: ExposureView[] }>(path)
      .then((answer) => { if (!stopped) { setItems(answer.items); setError(null); } })
      .catch((failure: unknown) => { if (!stopped) setError(describeError(failure)); });
    return () => { stopped = true; };
  }, [api, path, round]);
  const reload = (): void => { setRound((r) => r + 1); };
  const admin = props.cluster.role === 'admin';
  return (
    <>
      {error && <Notice kind="error">{error}</Notice>}
      {!items && !error && <Notice kind="loading">Loading published services…</Notice>}
      {items?.length === 0 && <Notice kind="empty">No service of this cluster is published. {admin ? 'Publish one below, or' : 'An admin of the cluster can publish one with'} <code>uplink expose {props.cluster.name} svc/NAME -n NAMESPACE --port PORT</code>.</Notice>}
      {items && items.length > 0 && <ExposureTable cluster={props.cluster} items={items} admin={admin} onChange={reload} />}
      {admin && <PublishForm cluster={props.cluster} onChange={reload} />}
    </>
  );
}

function ExposureTable(props: { cluster: FleetItem; items: ExposureView[]; admin: boolean; onChange: () => void }) {
  const { api } = useSession();
  const [failure, setFailure] = useState<string | null>(null);
  const withdraw = (name: string): void => {
    if (!confirm(`Withdraw ${name}? Open sessions to it end.`)) return;
    api.delete(apiPath(['clusters', props.cluster.name, 'exposures', name]))
      .then(() => { setFailure(null); props.onChange(); })
      .catch((error: unknown) => { setFailure(describeError(error)); });
  };
  return (
    <div class="table-wrap">
      {failure && <Notice kind="error">{failure}</Notice>}
      <table class="grid" aria-label="Published services">
        <thead><tr><th scope="col">Name</th><th scope="col">Service</th><th scope="col">Port</th><th scope="col">Who may open it</th><th scope="col">Published</th>{props.admin && <th scope="col">Actions</th>}</tr></thead>
        <tbody>
          {props.items.map((e) => (
            <tr key={e.name} data-exposure={e.name}>
              <td><a href={e.url} target="_blank" rel="noopener noreferrer">{e.name}</a></td>
              <td>{e.namespace}/{e.service}</td>
              <td>{String(e.port)}</td>
              <td>{e.minRole} and above</td>
              <td>{localTime(e.createdAt)} by {e.createdBy}</td>
              {props.admin && <td><button type="button" class="danger" onClick={() => { withdraw(e.name); }}>Withdraw</button></td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PublishForm(props: { cluster: FleetItem; onChange: () => void }) {
  const { api } = useSession();
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (key: string): string => { const value = form.get(key); return typeof value === 'string' ? value.trim() : ''; };
    const port = text('port');
    const body: Record<string, unknown> = {
      namespace: text('namespace'), service: text('service'),
      port: /^[0-9]+$/.test(port) ? Number(port) : port, minRole: text('minRole'),
      ...(text('name') === '' ? {} : { name: text('name') }),
    };
    setBusy(true);
    api.post(apiPath(['clusters', props.cluster.name, 'exposures']), body)
      .then(() => { setFailure(null); (event.target as HTMLFormElement).reset(); props.onChange(); })
      .catch((error: unknown) => { setFailure(describeError(error)); })
      .finally(() => { setBusy(false); });
  };
  return (
    <form class="publish" aria-label="Publish a service" onSubmit={submit}>
      <h2>Publish a service</h2>
      {failure && <Notice kind="error">{failure}</Notice>}
      <label>Namespace <input name="namespace" required maxLength={63} autocomplete="off" /></label>
      <label>Service <input name="service" required maxLength={63} autocomplete="off" /></label>
      <label>Port <input name="port" required maxLength={15} placeholder="80 or http" autocomplete="off" /></label>
      <label>Name <input name="name" maxLength={40} placeholder="the service's name" autocomplete="off" /></label>
      <label>Who may open it <select name="minRole">{ROLES.map((r) => <option key={r} value={r}>{r} and above</option>)}</select></label>
      <button type="submit" disabled={busy}>Publish</button>
    </form>
  );
}
