// A packaged app loads code and models only from where it was installed and from the user's own
// library: environment variables that name where code or models come from are development and
// test hooks, and a packaged app drops them before anything reads them. Settings that only tune
// (UNVEIL_PROVIDERS, UNVEIL_THREADS, UNVEIL_GRAPH_REWRITES, UNVEIL_PRELU_FORM) and data folders
// (UNVEIL_CASE_ROOT, UNVEIL_DATA: photos and pair lists, read as pixels and text) stay.
export const PACKAGED_IGNORED_ENV: Readonly<Record<string, string>> = {
  ELECTRON_RENDERER_URL: 'the page (renderer code) the window loads',
  UNVEIL_WORKER_PATH: 'the inference worker script',
  UNVEIL_SQLITE_BINDING: 'the SQLite native module',
  UNVEIL_RESOURCES: 'the bundled models and their thresholds',
  UNVEIL_CHROMIUM: 'the browser executable that prints reports',
  UNVEIL_HOME: 'the library, whose registry names the models that are loaded'
}

/** Removes the variables above from `env` (process.env in main); returns the names it removed. */
export function dropCodePathEnv(env: NodeJS.ProcessEnv): string[] {
  const dropped = Object.keys(PACKAGED_IGNORED_ENV).filter((name) => env[name] !== undefined)
  for (const name of dropped) delete env[name]
  return dropped
}
