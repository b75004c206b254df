// The service worker (sw.js) keeps the page working offline after one visit; the model and the
// runtime are stored by the model's worker (stored.js) when the person classifies on the device.
let registration = null;

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return Promise.resolve(null);
  registration = navigator.serviceWorker.register("/sw.js").catch(() => null);
  return registration;
}

/** Resolves true once the page is served by an installed worker (the page is cached), false
 *  when there will be none (no support, or a hard reload, which bypasses the worker). */
export async function serviceWorkerSettled() {
  const reg = await registration;
  if (!reg) return false;
  if (navigator.serviceWorker.controller) return true;
  const worker = reg.installing || reg.waiting;
  if (!worker) return false;
  return new Promise((resolve) => {
    navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true), { once: true });
    worker.addEventListener("statechange", () => { if (worker.state === "redundant") resolve(false); });
  });
}
