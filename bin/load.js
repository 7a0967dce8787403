// Loads a module of this package's build (dist/), saying in one line, not with a stack, when the
// build is not there: a clone where `npm install` (which builds it) was not run, or a package that
// lost a file.
const root = decodeURIComponent(new URL('..', import.meta.url).pathname);

export async function loadOwn(relative) {
  try {
    return await import(new URL(relative, import.meta.url));
  } catch (e) {
    const missing = e?.code === 'ERR_MODULE_NOT_FOUND' ? /Cannot find module '([^']+)'/.exec(String(e.message))?.[1] : undefined;
    if (!missing?.startsWith(root)) throw e;
    process.stderr.write(`trackfs: ${missing} is missing: in a clone, run npm install (it builds trackfs); otherwise install trackfs again\n`);
    process.exit(1);
  }
}
