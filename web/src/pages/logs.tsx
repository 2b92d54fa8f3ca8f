// Pod logs: pick a namespace, a pod (the list is live) and a container;
// with follow on, lines arrive as the pod writes them. At most MAX_LINES are
// kept on the page; older ones scroll away.
import { useEffect, useRef, useState } from 'preact/hooks';
import { apiPath, describeError } from '../api.ts';
import { Notice } from '../components/bits.tsx';
import { useLiveList } from '../live-watch.ts';
import { replaceQuery } from '../router.ts';
import { useSession } from '../session.ts';
import type { FleetItem, ResourceObjectResponse } from '../types.ts';

const MAX_LINES = 5000;
const TAIL_LINES = 500;

interface PodSpec {
  spec?: { containers?: { name: string }[]; initContainers?: { name: string }[] };
}

export function LogsTab(props: { cluster: FleetItem; query: URLSearchParams }) {
  const { api } = useSession();
  const cluster = props.cluster.name;
  const online = props.cluster.status === 'online';
  const namespace = props.query.get('namespace') ?? 'default';
  const pod = props.query.get('pod') ?? '';
  const container = props.query.get('container') ?? '';
  const follow = props.query.get('follow') !== 'false';
  const pods = useLiveList(cluster, 'pods', namespace, online);
  const [containers, setContainers] = useState<string[]>([]);
  const [lines, setLines] = useState<string[]>([]);
  const [state, setState] = useState<{ kind: 'idle' | 'streaming' | 'ended' | 'error'; message?: string }>({ kind: 'idle' });
  const output = useRef<HTMLPreElement>(null);
  const setQuery = (change: Record<string, string>): void => { replaceQuery({ namespace, pod, container, follow: follow ? undefined : 'false', ...change }); };

  useEffect(() => {
    setContainers([]);
    if (pod === '' || !online) return;
    api.get<ResourceObjectResponse>(apiPath(['clusters', cluster, 'resources', 'pods', pod], { namespace }))
      .then((answer) => {
        const spec = (answer.object as PodSpec).spec;
        setContainers([...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((c) => c.name));
      }).catch(() => undefined);
  }, [api, cluster, namespace, pod, online]);

  useEffect(() => {
    setLines([]);
    if (pod === '' || !online) { setState({ kind: 'idle' }); return; }
    const abort = new AbortController();
    let partial = '';
    setState({ kind: 'streaming' });
    const path = apiPath(['clusters', cluster, 'logs'], { namespace, pod, container: container || undefined, follow, tailLines: TAIL_LINES });
    api.text(path, (text) => {
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      if (parts.length > 0) setLines((old) => [...old, ...parts].slice(-MAX_LINES));
    }, abort.signal).then(() => {
      if (partial !== '') setLines((old) => [...old, partial].slice(-MAX_LINES));
      setState({ kind: 'ended', message: follow ? 'The log stream ended (the pod or the link went away).' : 'End of log.' });
    }).catch((error: unknown) => {
      if (!abort.signal.aborted) setState({ kind: 'error', message: describeError(error) });
    });
    return () => { abort.abort(); };
  }, [api, cluster, namespace, pod, container, follow, online]);

  useEffect(() => {
    const el = output.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines]);

  const podNames = pods.rows.map((row) => row.name).sort();
  return (
    <div>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); }}>
        <label for="log-namespace">Namespace</label>
        <input id="log-namespace" value={namespace} onChange={(e) => { setQuery({ namespace: (e.target as HTMLInputElement).value, pod: '', container: '' }); }} />
        <label for="log-pod">Pod</label>
        <select id="log-pod" value={pod} onChange={(e) => { setQuery({ pod: (e.target as HTMLSelectElement).value, container: '' }); }}>
          <option value="">Choose a pod…</option>
          {podNames.map((name) => <option key={name} value={name}>{name}</option>)}
        </select>
        <label for="log-container">Container</label>
        <select id="log-container" value={container} disabled={containers.length === 0} onChange={(e) => { setQuery({ container: (e.target as HTMLSelectElement).value }); }}>
          <option value="">{containers.length > 1 ? 'Default container' : containers[0] ?? '—'}</option>
          {containers.length > 1 && containers.map((name) => <option key={name} value={name}>{name}</option>)}
        </select>
        <label class="check"><input type="checkbox" checked={follow} onChange={(e) => { setQuery({ follow: (e.target as HTMLInputElement).checked ? '' : 'false' }); }} /> Follow</label>
        <span class="muted" aria-live="polite">{state.kind === 'streaming' ? (follow ? 'following' : 'reading') : ''}</span>
      </form>
      {pods.error && <Notice kind="error">{pods.error.message}</Notice>}
      {pod === '' && <Notice kind="empty">{podNames.length === 0 && pods.synced ? `No pods in namespace ${namespace}.` : 'Choose a pod to read its log.'}</Notice>}
      {state.kind === 'error' && <Notice kind={state.message?.startsWith('Forbidden') ? 'forbidden' : 'error'}>{state.message}</Notice>}
      {pod !== '' && (
        <pre class="log" ref={output} tabIndex={0} aria-label={`Log of ${pod}`} aria-live="off" data-testid="log-output">
          {lines.join('\n')}
        </pre>
      )}
      {state.kind === 'ended' && <p class="muted">{state.message}</p>}
    </div>
  );
}
