// The two large downloads (the model and the runtime's WebAssembly) kept in Cache Storage under
// names that carry their hash, so that a visit after the first starts offline and without a
// download, and a new model or runtime is a new name. The worker fetches them itself: the
// service worker does not download them on install, so a person who classifies on the server
// never downloads them at all. sw.js keeps the caches of the current build and deletes the rest.

export const modelCache = (sha256) => `cloudatlas-model-${sha256.slice(0, 12)}`;
export const runtimeCache = (sha256) => `cloudatlas-runtime-${sha256.slice(0, 12)}`;

/** Whether ``url`` is stored in ``cacheName`` (no download). */
export async function isStored(url, cacheName) {
  if (!("caches" in self)) return false;
  const cache = await caches.open(cacheName);
  return Boolean(await cache.match(url));
}

/**
 * The bytes of ``url``: from ``cacheName`` when stored, else downloaded (reporting each chunk's
 * size to ``onBytes``) and then stored. Bytes are counted as the body arrives, decompressed;
 * the caller scales them to what travels over the network.
 */
export async function storedBytes(url, cacheName, onBytes = () => {}) {
  const cache = "caches" in self ? await caches.open(cacheName) : null;
  const hit = cache && (await cache.match(url));
  if (hit) {
    const bytes = await hit.arrayBuffer();
    onBytes(bytes.byteLength, true);
    return bytes;
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const chunks = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    onBytes(value.byteLength, false);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) { bytes.set(chunk, at); at += chunk.byteLength; }
  // Stored as plain bytes: the network's content-encoding does not apply to them any more.
  if (cache) {
    await cache.put(url, new Response(bytes, { headers: { "content-type": response.headers.get("content-type") || "" } }))
      .catch(() => { /* storage full or refused: the page still works online */ });
  }
  return bytes.buffer;
}
