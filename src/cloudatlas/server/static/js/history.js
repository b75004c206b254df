// The log of what the person saw, kept in this browser only (IndexedDB): every answer with a
// thumbnail, the time, the verdict, the level, the top genera, the person's own choice and,
// only when they allow it, the place rounded to about 1 km. Nothing here goes to any server.

const DB = "cloudatlas";
const STORE = "answers";
const TOP = 3; // genera kept per answer, with their probabilities

let opened = null;
function db() {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opened;
}

async function run(mode, work) {
  const store = (await db()).transaction(STORE, mode).objectStore(STORE);
  return new Promise((resolve, reject) => {
    const req = work(store);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** What is kept of one answer (the API's shape) and its photo. */
export function entryOf(answer, { thumb = null, photo = null, place = null, time = new Date() } = {}) {
  return {
    time: time.toISOString(),
    verdict: answer.verdict,
    confidence: answer.confidence,
    level: answer.level,
    level_confidence: answer.level_confidence,
    headline: answer.headline,
    top: answer.predictions.slice(0, TOP).map(({ label, name, probability }) => ({ label, name, probability })),
    choice: null,
    place,
    where: answer.where,
    model: answer.model ? `${answer.model.name} ${answer.model.version}` : "",
    thumb,
    photo,
  };
}

export const add = (entry) => run("readwrite", (s) => s.add(entry));
export const get = (id) => run("readonly", (s) => s.get(id));
export const remove = (id) => run("readwrite", (s) => s.delete(id));
export const clear = () => run("readwrite", (s) => s.clear());

export async function update(id, changes) {
  const entry = await get(id);
  if (!entry) return null;
  const next = { ...entry, ...changes };
  await run("readwrite", (s) => s.put(next));
  return next;
}

/** Every entry, newest first. */
export async function list() {
  const all = await run("readonly", (s) => s.getAll());
  return all.sort((a, b) => b.id - a.id);
}
