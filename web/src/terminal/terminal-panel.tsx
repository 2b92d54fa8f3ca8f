// A pod page's terminal: pick a container and a command, open an exec
// session in the browser, close it. The cluster's API server decides who may
// exec (the hub impersonates the user); its refusal is shown as it gave it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Notice } from '../components/bits.tsx';
import { useSession } from '../session.ts';
import type { ExecState } from './exec-session.ts';

/** The words of a command line: split on spaces; quoting is left to a shell (`sh`, then type). */
export function commandWords(line: string): string[] {
  return line.trim().split(/\s+/).filter((word) => word !== '');
}

function describeState(state: ExecState): string {
  switch (state.kind) {
    case 'connecting': return 'connecting…';
    case 'open': return 'connected';
    case 'exited': return state.exitCode === null ? `ended: ${state.message}` : `exited with code ${state.exitCode}`;
    case 'closed': return state.message;
    case 'refused': return 'refused';
  }
}

export function TerminalPanel(props: { cluster: string; namespace: string; pod: string; containers: string[] }) {
  const { api } = useSession();
  const [container, setContainer] = useState(props.containers[0] ?? '');
  const [command, setCommand] = useState('sh');
  const [running, setRunning] = useState<string[] | null>(null);
  const [state, setState] = useState<ExecState | null>(null);
  const screen = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = screen.current;
    if (running === null || element === null) return;
    let stop: (() => void) | undefined;
    let cancelled = false;
    setState({ kind: 'connecting' });
    void import('./exec-session.ts').then(({ startExecSession }) => {
      if (cancelled) return;
      stop = startExecSession({
        element, api, target: { cluster: props.cluster, namespace: props.namespace, pod: props.pod, container, command: running }, onState: setState,
      });
    }).catch((error: unknown) => { setState({ kind: 'closed', message: `The terminal failed to load: ${(error as Error).message}` }); });
    return () => {
      cancelled = true;
      stop?.();
    };
    // A session runs until closed: changing the form meanwhile does not restart it.
  }, [running]);

  const open = (event: Event): void => {
    event.preventDefault();
    const words = commandWords(command);
    if (words.length > 0 && container !== '') setRunning(words);
  };
  return (
    <section aria-label="Terminal" class="terminal-panel">
      <h3>Terminal</h3>
      <form class="filters" onSubmit={open}>
        <label for="exec-container">Container</label>
        <select id="exec-container" value={container} disabled={running !== null} onChange={(e) => { setContainer((e.target as HTMLSelectElement).value); }}>
          {props.containers.map((name) => <option key={name} value={name}>{name}</option>)}
        </select>
        <label for="exec-command">Command</label>
        <input id="exec-command" value={command} disabled={running !== null} spellcheck={false} onInput={(e) => { setCommand((e.target as HTMLInputElement).value); }} />
        {/* Keyed: one reused element would turn into the submit button before the click's default action, and reopen. */}
        {running === null
          ? <button key="open" type="submit" disabled={commandWords(command).length === 0 || container === ''}>Open terminal</button>
          : <button key="close" type="button" onClick={() => { setRunning(null); setState(null); }}>Close terminal</button>}
        <span class="muted" aria-live="polite" data-testid="terminal-state">{state === null ? '' : describeState(state)}</span>
      </form>
      {state?.kind === 'refused' && <Notice kind={state.message.startsWith('Forbidden') ? 'forbidden' : 'error'}>{state.message}</Notice>}
      {running !== null && <div class="terminal-screen" ref={screen} data-testid="terminal" />}
      <p class="muted">Copy with Ctrl+Shift+C, paste with Ctrl+Shift+V. Closing the terminal or the tab ends the session.</p>
    </section>
  );
}
