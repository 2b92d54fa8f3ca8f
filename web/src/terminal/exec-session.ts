// One exec session in the browser: an xterm.js terminal wired to the
// hub's kubectl endpoint over WebSocket (v5/v4.channel.k8s.io, see
// src/kube/exec-channels.ts). Loaded on demand, so the dashboard's first
// load does not carry xterm.js.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { EXEC_SUBPROTOCOLS, decodeExecMessage, encodeCloseStdin, encodeResize, encodeStdin } from '../../../src/kube/exec-channels.ts';
import type { Api } from '../api.ts';
import { useConstructedStyles } from './constructed-styles.ts';

/** Lines of output a terminal keeps for scrolling back. */
const SCROLLBACK_LINES = 5000;

export type ExecState =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'exited'; exitCode: number | null; message: string }
  | { kind: 'closed'; message: string }
  | { kind: 'refused'; message: string };

export interface ExecTarget {
  cluster: string;
  namespace: string;
  pod: string;
  container: string;
  /** The command and its arguments. */
  command: string[];
}

/** The exec URL of `target` at the hub's kubectl endpoint, with a TTY and all three streams. */
export function execPath(target: ExecTarget): string {
  const query = new URLSearchParams({ container: target.container });
  for (const word of target.command) query.append('command', word);
  for (const flag of ['stdin', 'stdout', 'stderr', 'tty']) query.set(flag, 'true');
  const segments = ['k8s', 'clusters', target.cluster, 'api', 'v1', 'namespaces', target.namespace, 'pods', target.pod, 'exec'];
  return `/${segments.map(encodeURIComponent).join('/')}?${query.toString()}`;
}

export interface ExecSessionOptions {
  element: HTMLElement;
  api: Api;
  target: ExecTarget;
  onState: (state: ExecState) => void;
}

/** Copy is Ctrl+Shift+C (Ctrl+C goes to the command); Ctrl+Shift+V is left to the browser, whose paste xterm.js reads. */
function clipboardKeys(terminal: Terminal): (event: KeyboardEvent) => boolean {
  return (event) => {
    if (event.type !== 'keydown' || !event.ctrlKey || !event.shiftKey) return true;
    if (event.code === 'KeyC') {
      const selection = terminal.getSelection();
      if (selection !== '') void navigator.clipboard.writeText(selection).catch(() => undefined);
      return false;
    }
    return event.code !== 'KeyV';
  };
}

/** Opens the terminal and the session; the returned function ends both (closing the tab ends the socket too). */
export function startExecSession(options: ExecSessionOptions): () => void {
  const { element, api, target } = options;
  const releaseStyles = useConstructedStyles(element.ownerDocument);
  const terminal = new Terminal({ cursorBlink: true, scrollback: SCROLLBACK_LINES, fontSize: 14 });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.attachCustomKeyEventHandler(clipboardKeys(terminal));
  terminal.open(element);
  fit.fit();
  const path = execPath(target);
  const socket = api.kubeSocket(path, EXEC_SUBPROTOCOLS);
  socket.binaryType = 'arraybuffer';
  let opened = false;
  let ended = false;
  const send = (message: Uint8Array<ArrayBuffer>): void => { if (socket.readyState === WebSocket.OPEN) socket.send(message); };
  const resize = (): void => { send(encodeResize({ columns: terminal.cols, rows: terminal.rows })); };

  socket.addEventListener('open', () => {
    opened = true;
    options.onState({ kind: 'open' });
    resize();
    terminal.focus();
  });
  socket.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (!(event.data instanceof ArrayBuffer)) return;
    const message = decodeExecMessage(new Uint8Array(event.data));
    if (message.kind === 'output') terminal.write(message.data);
    if (message.kind === 'exit') {
      ended = true;
      terminal.write(`\r\n\x1b[2m[${message.exitCode === null ? message.message : `exited with code ${message.exitCode}`}]\x1b[0m\r\n`);
      options.onState({ kind: 'exited', exitCode: message.exitCode, message: message.message });
    }
  });
  socket.addEventListener('close', (event) => {
    if (ended) return;
    ended = true;
    if (opened) {
      options.onState({ kind: 'closed', message: `The session ended${event.reason ? `: ${event.reason}` : ''}.` });
      return;
    }
    void api.kubeRefusal(path).then((refusal) => {
      options.onState({ kind: 'refused', message: refusal ?? 'The hub or the cluster refused the session; the cluster may be offline.' });
    });
  });
  const typed = terminal.onData((data) => { send(encodeStdin(data)); });
  const binary = terminal.onBinary((data) => { send(encodeStdin(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff))); });
  const resized = terminal.onResize(resize);
  const observer = new ResizeObserver(() => { fit.fit(); });
  observer.observe(element);

  return () => {
    observer.disconnect();
    for (const listener of [typed, binary, resized]) listener.dispose();
    // v5 can say stdin ended, so a command reading it finishes; then the socket closes either way.
    if (socket.protocol === 'v5.channel.k8s.io') send(encodeCloseStdin());
    ended = true;
    socket.close(1000);
    terminal.dispose();
    releaseStyles();
  };
}
