// The service worker (sw.js) makes the page, the runtime and the model work offline after one visit.
let registration = null;

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return Promise.resolve(null);
  registration = navigator.serviceWorker.register("/sw.js").catch(() => null);
  return registration;
}

/** Resolves true once the page is served by an installed worker (everything is cached), false
 *  when there will be none: the model is then fetched directly. Loading the model only after
 *  the worker has cached it means a first visit downloads it once, not twice. */
export async function serviceWorkerSettled() {
  const reg = await registration;
  if (!reg) return false;
  if (navigator.serviceWorker.controller) return true;
  const worker = reg.installing || reg.waiting;
  if (!worker) return false; // e.g. a hard reload, which bypasses the worker
  return new Promise((resolve) => {
    navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true), { once: true });
    worker.addEventListener("statechange", () => { if (worker.state === "redundant") resolve(false); });
  });
}

/** Whether this model is in the offline cache (the cache is named by the model's hash). */
export async function modelCached(meta) {
  if (!("caches" in window) || !navigator.serviceWorker || !navigator.serviceWorker.controller) return false;
  return Boolean(await caches.match(meta.url, { cacheName: `cloudatlas-model-${meta.sha256.slice(0, 12)}` }));
}
