// CloudAtlas service worker: after one visit the page works offline.
// Served at /sw.js (scope: the whole site) by server/pwa.py, which prepends
//   const BUILD = {version, model: {url, sha256}, runtime: {sha256}, shell: [urls]};
// naming this build. A new page, runtime or model changes BUILD, so the browser installs the
// new worker, which caches the new page and deletes the caches of the old files.
//
// The model and the runtime's WebAssembly are not downloaded here: the page's worker fetches
// them itself (js/stored.js), with a progress bar, and only when the person classifies on this
// device. This worker only keeps their caches (named by their hashes) and deletes stale ones.
/* global BUILD */
"use strict";

const SHELL_CACHE = `cloudatlas-shell-${BUILD.version}`;
const MODEL_CACHE = `cloudatlas-model-${BUILD.model.sha256.slice(0, 12)}`;     // as stored.js names them
const RUNTIME_CACHE = `cloudatlas-runtime-${BUILD.runtime.sha256.slice(0, 12)}`;
const FRESH_FIRST = ["/", "/api/v1/model", "/api/v1/labels"]; // small, and newer is better when online
// Two files at a time: a browser opens only six connections to a server, and on a slow first
// visit the model's download and a photo sent to the server must not queue behind the shell.
const AT_ONCE = 2;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const shell = await caches.open(SHELL_CACHE);
    const queue = [...BUILD.shell];
    const next = async () => {
      for (let url = queue.shift(); url; url = queue.shift()) {
        await shell.add(url).catch(() => undefined); // a missing optional file must not stop the rest
      }
    };
    await Promise.all(Array.from({ length: AT_ONCE }, next));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keep = new Set([SHELL_CACHE, MODEL_CACHE, RUNTIME_CACHE]);
    for (const name of await caches.keys()) {
      if (name.startsWith("cloudatlas-") && !keep.has(name)) await caches.delete(name);
    }
    await self.clients.claim(); // the page that installed us is served from the cache from now on
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // uploads go to the server as they are
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (FRESH_FIRST.includes(url.pathname)) {
    // the page is cached as "/" whatever its query string (e.g. ?source=homescreen)
    event.respondWith(networkFirst(request, url.pathname === "/" ? "/" : request));
  } else if (BUILD.shell.includes(url.pathname)) {
    event.respondWith(cacheFirst(request, SHELL_CACHE));
  }
});

async function cacheFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.status === 200) cache.put(request, response.clone());
  return response;
}

// Online: the newest page and metadata (and the cache refreshed); offline: the cached copy. A slow
// network (one bar of signal) must not hold the page either: after a few seconds the copy answers.
const NETWORK_TIMEOUT_MS = 4000;

async function networkFirst(request, cacheKey) {
  const cache = await caches.open(SHELL_CACHE);
  const network = fetch(request).then(async (response) => {
    if (response.ok) await cache.put(cacheKey, response.clone());
    return response;
  });
  const cached = await cache.match(cacheKey);
  if (!cached) return network;
  const late = new Promise((resolve) => setTimeout(() => resolve(cached), NETWORK_TIMEOUT_MS));
  return Promise.race([network.catch(() => cached), late]);
}
