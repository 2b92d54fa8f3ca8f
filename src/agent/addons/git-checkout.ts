// A directory of a Git repository at one commit, fetched with the real `git`
// for charts that live in Git. Layout under the agent's helm directory:
//
//   git/<hash of url>/repo.git            bare repository; shallow fetches land here
//   git/<hash of url>/trees/<commit>-<hash of path>/<path>
//                                          the directory's files at that commit
//
// A tree is written to a temporary directory and renamed into place, and never
// changed afterwards: helm may still be reading one while another add-on of
// the same repository resolves a newer commit. Work on one repository (fetch,
// export, prune) runs one operation at a time; different repositories run in
// parallel.
//
// Credentials reach git only through its environment (GIT_CONFIG_*), never
// argv, a URL or a file, and are cut out of every message.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { UplinkError } from '../../util/errors.ts';
import { childEnv, ProcessStartError, runProcess, type ProcessResult } from '../../util/run-process.ts';

/** Default limit per git command. */
export const DEFAULT_GIT_TIMEOUT_MS = 120_000;
/** Output kept per stream: git prints little here (a commit id, errors). */
const GIT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** Longest quote of git's error kept in a message. */
export const MAX_GIT_DETAIL_CHARS = 300;
/**
 * Trees kept per repository, newest used first. A tree stays at least until
 * this many newer ones of the same repository were resolved, which is far
 * longer than helm takes to load a chart.
 */
export const KEEP_TREES_PER_REPOSITORY = 8;
/** Commit ids as `ref`: fetched by id, and a tree already exported for one is reused without a fetch. */
const FULL_COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * Variables git may take from the agent's environment besides PATH: temp
 * files, proxies and CA bundles. Nothing else (GIT_DIR, GIT_SSH_COMMAND,
 * credentials of the agent's own) is inherited.
 */
const INHERITED_ENV = [
  'TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
] as const;

/**
 * Configuration every git command gets, at command-line precedence (above a
 * repository's own config): symlinks are checked out as plain files holding
 * the link's text, so a chart cannot make helm read files of the agent
 * (`.Files.Get` through a link to a token); housekeeping runs in the
 * foreground, so it stays inside the command's process group and time limit.
 */
const FIXED_CONFIG: readonly (readonly [string, string])[] = [
  ['core.symlinks', 'false'],
  ['gc.autoDetach', 'false'],
  ['maintenance.autoDetach', 'false'],
];

export interface GitCheckoutsOptions {
  /** The agent's helm directory: HOME for git; repositories and trees live in `<dir>/git`. */
  workDir: string;
  /** Path of the git binary; `git` from PATH by default. */
  binary?: string;
  /** Limit per git command. */
  timeoutMs?: number;
}

export interface GitTreeRequest {
  /** http(s) URL without credentials. */
  url: string;
  /** A branch, a tag, a full commit id, or `HEAD`. */
  ref: string;
  /** A directory relative to the repository root ('' or '.' for the root). */
  path: string;
  /** A value for the `Authorization` header of git's requests, for a private repository. */
  authorization?: string;
  /** Further strings to cut out of messages (the token the header was built from). */
  secrets?: readonly string[];
  signal?: AbortSignal;
}

export interface GitTree {
  /** The commit id `ref` resolved to. */
  commit: string;
  /** The absolute path of `path` at that commit; not to be written to. */
  dir: string;
}

/** Fetching or exporting failed; `message` is redacted and safe to show. */
export class GitError extends UplinkError {
  readonly reason: 'GIT_FAILED' | 'PATH_MISSING' | 'CANCELLED';

  constructor(reason: GitError['reason'], message: string, options?: ErrorOptions) {
    super('GIT_FAILED', message, options);
    this.reason = reason;
  }
}

/** The environment git runs with: see {@link GitCheckoutsOptions} and {@link FIXED_CONFIG}. */
export function buildGitEnv(workDir: string, authorization?: string, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env = childEnv(INHERITED_ENV, parent);
  const config = authorization === undefined ? FIXED_CONFIG : [...FIXED_CONFIG, ['http.extraHeader', `Authorization: ${authorization}`] as const];
  Object.assign(env, {
    HOME: workDir,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    // Set and empty: no askpass program is run, whatever the agent's user has.
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    // Neither redirects nor anything in a repository leads git to file://, ssh or ext::.
    GIT_ALLOW_PROTOCOL: 'http:https',
    // A chart path is a path, never a glob or pathspec magic.
    GIT_LITERAL_PATHSPECS: '1',
    GIT_CONFIG_COUNT: String(config.length),
  });
  config.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  return env;
}

/**
 * Git's stderr as a message may quote it: the `fatal:`/`error:` lines when
 * there are any, every secret and any URL's user info removed, on one line,
 * cut to {@link MAX_GIT_DETAIL_CHARS}.
 */
export function redactGitOutput(stderr: string, secrets: readonly string[] = []): string {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const errors = lines.filter((line) => /^(fatal|error):/.test(line));
  let text = (errors.length > 0 ? errors : lines).join(' ');
  for (const secret of secrets) if (secret !== '') text = text.replaceAll(secret, '<redacted>');
  text = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1');
  return text.length > MAX_GIT_DETAIL_CHARS ? `${text.slice(0, MAX_GIT_DETAIL_CHARS)}…` : text;
}

/** Git's answer to a request without valid credentials, over HTTP. */
const AUTH_REFUSED = /Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[13]|HTTP 40[13]/;

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** `path` as git names it from the root: no `./`, no trailing `/`, '' for the root. */
function normalisePath(path: string): string {
  return path.split('/').filter((part) => part !== '' && part !== '.').join('/');
}

interface GitRun {
  env: Record<string, string>;
  secrets: readonly string[];
  signal?: AbortSignal;
  /** Said in a failure, e.g. `fetch of ref 'main' from https://…`. */
  what: string;
}

/** Fetches and exports directories of Git repositories; see the file's head comment. */
export class GitCheckouts {
  private readonly root: string;
  private readonly workDir: string;
  private readonly binary: string;
  private readonly timeoutMs: number;
  /** Per repository directory: the end of its queue of operations. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(options: GitCheckoutsOptions) {
    this.workDir = options.workDir;
    this.root = join(options.workDir, 'git');
    this.binary = options.binary ?? 'git';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  }

  /**
   * `path` of `ref` in the repository at `url`: fetched (depth 1) unless a
   * tree of that commit id is already there. Throws {@link GitError}:
   * GIT_FAILED (with git's words, redacted), PATH_MISSING when the commit has
   * no such directory, CANCELLED when `signal` aborts.
   */
  async exportTree(request: GitTreeRequest): Promise<GitTree> {
    const repoDir = join(this.root, shortHash(request.url, 24));
    return this.serialise(repoDir, () => this.exportTreeNow(repoDir, request));
  }

  private async exportTreeNow(repoDir: string, request: GitTreeRequest): Promise<GitTree> {
    const path = normalisePath(request.path);
    const secrets = [...(request.secrets ?? []), ...(request.authorization === undefined ? [] : [request.authorization])];
    const run: GitRun = { env: buildGitEnv(this.workDir, request.authorization), secrets, signal: request.signal, what: '' };
    const treesDir = join(repoDir, 'trees');
    const treeName = (commit: string): string => `${commit}-${shortHash(path, 12)}`;
    if (FULL_COMMIT_ID.test(request.ref) && existsSync(join(treesDir, treeName(request.ref)))) {
      return this.useTree(treesDir, treeName(request.ref), request.ref, path);
    }
    const gitDir = join(repoDir, 'repo.git');
    const source = `ref '${request.ref}' of ${request.url}`;
    try {
      if (!existsSync(join(gitDir, 'HEAD'))) {
        await mkdir(repoDir, { recursive: true });
        await this.git(['init', '--bare', '--quiet', gitDir], { ...run, what: 'init of the local repository' });
      }
      await this.git(['--git-dir', gitDir, 'fetch', '--depth', '1', '--no-tags', '--quiet', '--', request.url, request.ref], { ...run, what: `fetch of ${source}` });
    } catch (error) {
      // An interrupted init or fetch can leave a half repository or locks (shallow.lock): start afresh next time.
      await rm(gitDir, { recursive: true, force: true });
      throw error;
    }
    const commit = (await this.git(['--git-dir', gitDir, 'rev-parse', '--verify', 'FETCH_HEAD^{commit}'], { ...run, what: `reading the commit of ${source}` })).stdout.trim();
    if (existsSync(join(treesDir, treeName(commit)))) return this.useTree(treesDir, treeName(commit), commit, path);
    await this.writeTree({ gitDir, treesDir, name: treeName(commit), commit, path }, { ...run, what: `checkout of '${path || '.'}' at ${commit}` });
    const tree = await this.useTree(treesDir, treeName(commit), commit, path);
    await this.pruneTrees(treesDir);
    return tree;
  }

  /** Exports `path` at `commit` into `<treesDir>/<name>`, whole or not at all. */
  private async writeTree(tree: { gitDir: string; treesDir: string; name: string; commit: string; path: string }, run: GitRun): Promise<void> {
    const object = `${tree.commit}:${tree.path}`;
    const type = await this.runGit(['--git-dir', tree.gitDir, 'cat-file', '-t', object], run);
    if (type.timedOut || type.code === null) throw this.failure(type, run);
    if (type.code !== 0 || type.stdout.trim() !== 'tree') {
      throw new GitError('PATH_MISSING', `commit ${tree.commit} has no directory '${tree.path || '.'}'`);
    }
    await mkdir(tree.treesDir, { recursive: true });
    const temporary = join(tree.treesDir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(temporary);
      // Its own index: the bare repository's stays untouched, and nothing of another export leaks in.
      const env = { ...run.env, GIT_INDEX_FILE: join(temporary, '.git-index') };
      await this.git(['--git-dir', tree.gitDir, '--work-tree', temporary, 'checkout', '--quiet', tree.commit, '--', tree.path || '.'], { ...run, env });
      await rm(env.GIT_INDEX_FILE, { force: true });
      await rename(temporary, join(tree.treesDir, tree.name));
    } finally {
      await rm(temporary, { recursive: true, force: true });
    }
  }

  /** Marks a tree as just used (its mtime orders pruning) and returns it. */
  private async useTree(treesDir: string, name: string, commit: string, path: string): Promise<GitTree> {
    const dir = join(treesDir, name);
    const now = new Date();
    await utimes(dir, now, now);
    return { commit, dir: join(dir, path) };
  }

  /** Removes all but the {@link KEEP_TREES_PER_REPOSITORY} most recently used trees, and leftovers of interrupted exports. */
  private async pruneTrees(treesDir: string): Promise<void> {
    const names = await readdir(treesDir);
    const trees = await Promise.all(names.map(async (name) => ({ name, used: (await stat(join(treesDir, name))).mtimeMs })));
    const stale = trees
      .sort((a, b) => b.used - a.used)
      .filter((tree, index) => tree.name.startsWith('.tmp-') || index >= KEEP_TREES_PER_REPOSITORY);
    await Promise.all(stale.map((tree) => rm(join(treesDir, tree.name), { recursive: true, force: true })));
  }

  /** Runs `fn` after every earlier operation on `key` has finished. */
  private async serialise<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release = (): void => undefined;
    const done = new Promise<void>((resolve) => { release = resolve; });
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Runs git; a failure, timeout or cancellation throws {@link GitError}. */
  private async git(args: readonly string[], run: GitRun): Promise<ProcessResult> {
    const result = await this.runGit(args, run);
    if (result.code === 0 && !result.timedOut) return result;
    throw this.failure(result, run);
  }

  private failure(result: ProcessResult, run: GitRun): GitError {
    if (run.signal?.aborted === true) return new GitError('CANCELLED', `git ${run.what} was cancelled`);
    if (result.timedOut) return new GitError('GIT_FAILED', `git ${run.what} did not finish within ${Math.round(this.timeoutMs / 1000)} s and was killed`);
    // Git's own words for a 401 ("could not read Username … terminal prompts disabled") mislead here.
    if (AUTH_REFUSED.test(result.stderr)) {
      const why = run.secrets.length > 0
        ? 'the repository refused the token (HTTP 401 or 403)'
        : 'the repository needs credentials (name a Secret holding a token in source.git.tokenSecret)';
      return new GitError('GIT_FAILED', `git ${run.what} failed: ${why}`);
    }
    const detail = redactGitOutput(result.stderr, run.secrets);
    return new GitError('GIT_FAILED', `git ${run.what} failed: ${detail || `exit code ${String(result.code)}`}`);
  }

  private async runGit(args: readonly string[], run: GitRun): Promise<ProcessResult> {
    if (run.signal?.aborted === true) throw new GitError('CANCELLED', `git ${run.what} was cancelled`);
    try {
      return await runProcess(this.binary, args, {
        env: run.env, signal: run.signal, timeoutMs: this.timeoutMs, maxOutputBytes: GIT_MAX_OUTPUT_BYTES, processGroup: true, dieWithParent: true,
      });
    } catch (error) {
      if (!(error instanceof ProcessStartError)) throw error;
      throw new GitError('GIT_FAILED', `could not start git at ${this.binary}: ${error.cause instanceof Error ? error.cause.message : 'unknown error'}`);
    }
  }
}
