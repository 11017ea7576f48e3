// How a child node runs this tree's TypeScript the way the suite itself does:
// tap starts every suite with tsx's loader (package.json, "tap"."node-arg").
// Only the loader, not tap's own hooks: a child of another user cannot write
// tap's coverage records, and a child started by dbus-daemon runs elsewhere,
// so the loader is named by its full URL rather than as a bare "tsx".
export const TS_LOADER: readonly string[] = ['--import', import.meta.resolve('tsx')];
