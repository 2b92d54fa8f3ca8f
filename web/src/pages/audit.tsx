// The audit log of one cluster: every request made through the hub (kubectl,
// resources, logs, add-on operations), newest first. Fleet admins only.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, apiPath, describeError } from '../api.ts';
import { Notice } from '../components/bits.tsx';
import { localTime } from '../format.ts';
import { useSession } from '../session.ts';
import type { AuditView, FleetItem } from '../types.ts';

export function AuditTab(props: { cluster: FleetItem }) {
  const { api } = useSession();
  const [items, setItems] = useState<AuditView[] | null>(null);
  const [error, setError] = useState<{ message: string; forbidden: boolean } | null>(null);
  useEffect(() => {
    api.get<{ items: AuditView[] }>(apiPath(['audit'], { cluster: props.cluster.id, limit: 200 }))
      .then((answer) => { setItems(answer.items); })
      .catch((failure: unknown) => { setError({ message: describeError(failure), forbidden: failure instanceof ApiError && failure.status === 403 }); });
  }, [api, props.cluster.id]);
  if (error) return <Notice kind={error.forbidden ? 'forbidden' : 'error'}>{error.forbidden ? 'The audit log is for fleet admins. ' : ''}{error.message}</Notice>;
  if (!items) return <Notice kind="loading">Loading the audit log…</Notice>;
  if (items.length === 0) return <Notice kind="empty">No requests recorded for this cluster yet.</Notice>;
  const withExit = items.some((a) => a.exitCode !== null || a.exitReason !== null);
  return (
    <div class="table-wrap">
      <table class="grid" aria-label="Audit log">
        <thead><tr><th scope="col">When</th><th scope="col">User</th><th scope="col">Verb</th><th scope="col">Resource</th><th scope="col">Namespace</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Took</th>{withExit && <th scope="col">Exit</th>}<th scope="col">Command</th></tr></thead>
        <tbody>
          {items.map((a) => (
            <tr key={a.id}>
              <td>{localTime(a.at)}</td><td>{a.userName}</td><td>{a.verb}</td>
              <td>{a.resource}{a.subresource ? `/${a.subresource}` : ''}</td><td>{a.namespace ?? '—'}</td><td>{a.name ?? '—'}</td>
              <StatusCells row={a} />{withExit && <ExitCell row={a} />}<td><code>{a.command ?? ''}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A stream still running, or one whose hub died with it open, has no status
 * or duration yet: its state stands in their place.
 */
function StatusCells(props: { row: AuditView }) {
  const { row } = props;
  if (row.state === 'in_progress') return <><td title="the stream is still open">in progress</td><td>—</td></>;
  if (row.state === 'interrupted') return <><td class="bad" title="the hub serving it stopped or died with the stream open">interrupted</td><td>—</td></>;
  return <><td class={row.status >= 400 ? 'bad' : ''}>{row.status}</td><td>{row.durationMs} ms</td></>;
}

/** An exec's exit code, or why it has none (its Status's reason, whole in the tooltip); empty for other rows. */
function ExitCell(props: { row: AuditView }) {
  const { exitCode, exitReason } = props.row;
  if (exitCode !== null) return <td class={exitCode === 0 ? '' : 'bad'}>{exitCode}</td>;
  if (exitReason === null) return <td>—</td>;
  return <td class="bad" title={exitReason}>{exitReason.split(':')[0]}</td>;
}
