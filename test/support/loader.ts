// How a child node runs this tree's TypeScript the way the suite itself does:
// tap starts every suite with tsx's loader (package.json, "tap"."node-arg").

/**
 * Only the loader, not tap's own hooks: a child of another user cannot write
 * tap's coverage records, and a child started by dbus-daemon runs elsewhere,
 * so the loader is named by its full URL rather than as a bare "tsx".
 */
export const TS_LOADER: readonly string[] = ['--import', import.meta.resolve('tsx')];

/**
 * The suite's own node arguments for a child it runs as itself (a daemon,
 * domuctl, a helper process), less tap's mock hook: coverage and source maps
 * stay, but no child is given mocks, and the hook's loader thread, which
 * sees every module a child loads, cost about a second per start.
 */
export const CHILD_NODE_ARGS: readonly string[] = withoutMockHook(process.execArgv);

function withoutMockHook(argv: readonly string[]): string[] {
  const isMock = (a: string) => /[/\\]@tapjs[/\\]mock[/\\]/.test(a);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (isMock(argv[i]!)) continue; // --import=URL
    if ((argv[i] === '--import' || argv[i] === '--loader') && isMock(argv[i + 1] ?? '')) i++; // --import URL
    else out.push(argv[i]!);
  }
  return out;
}
