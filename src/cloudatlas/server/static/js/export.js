// The history as files a person keeps: CSV and JSON with the fields of a GLOBE-style cloud
// observation (UTC date and time, latitude and longitude, one yes/no column per cloud type seen,
// as GLOBE's cloud data has), plus how sure the model was and the person's own choice; and a
// ZIP of the photos in one folder per genus, the layout `cloudatlas train --data` reads, so that
// a person's corrections become their own training data.
import { zip } from "./zip.js";

// GLOBE's cloud types, in its order, and the genus each is.
const GLOBE_TYPES = [["cirrus", "Ci"], ["cirrocumulus", "Cc"], ["cirrostratus", "Cs"], ["altostratus", "As"],
  ["altocumulus", "Ac"], ["stratus", "St"], ["stratocumulus", "Sc"], ["nimbostratus", "Ns"], ["cumulus", "Cu"],
  ["cumulonimbus", "Cb"], ["contrails", "Ct"]];

/** The genus an entry stands for: the person's choice, else a cloud answer the model was sure of. */
export function genusSeen(entry) {
  if (entry.choice) return entry.choice;
  if (entry.verdict === "cloud" && entry.confidence && entry.confidence !== "unsure") return entry.top[0].label;
  return null;
}

export function observation(entry) {
  const seen = genusSeen(entry);
  const [date, time] = entry.time.replace("Z", "").split("T");
  const out = {
    id: entry.id,
    measured_date_utc: date,
    measured_time_utc: time.slice(0, 8),
    latitude: entry.place ? entry.place.latitude : null,
    longitude: entry.place ? entry.place.longitude : null,
  };
  for (const [name, code] of GLOBE_TYPES) out[name] = seen === code ? 1 : 0;
  Object.assign(out, {
    cloud_type_seen: seen,
    person_choice: entry.choice,
    verdict: entry.verdict,
    confidence: entry.confidence,
    level: entry.level,
    level_confidence: entry.level_confidence,
    headline: entry.headline,
    top_genera: entry.top.map((p) => ({ genus: p.label, probability: Math.round(p.probability * 1e4) / 1e4 })),
    answered_on: entry.where,
    model: entry.model,
  });
  return out;
}

export function toJson(entries) {
  const body = { format: "CloudAtlas observations (GLOBE-style fields)", observations: entries.map(observation) };
  return new Blob([JSON.stringify(body, null, 1) + "\n"], { type: "application/json" });
}

const csvCell = (v) => {
  if (v == null) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export function toCsv(entries) {
  const rows = entries.map(observation).map((o) => ({
    ...o, top_genera: o.top_genera.map((p) => `${p.genus} ${p.probability}`).join("; "),
  }));
  const columns = rows.length ? Object.keys(rows[0]) : Object.keys(observation({ id: 0, time: "1970-01-01T00:00:00Z", top: [] }));
  const lines = [columns.join(","), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(","))];
  return new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" });
}

/** One folder per genus, the photos in it; the CSV beside them (not a label folder: files only). */
export async function toZip(entries) {
  const files = [];
  for (const entry of entries) {
    const code = genusSeen(entry);
    if (!code || !entry.photo) continue;
    const stamp = entry.time.replace(/[:.]/g, "-").replace(/-\d+Z$/, "Z");
    files.push({ name: `${code}/cloudatlas-${entry.id}-${stamp}.jpg`, data: new Uint8Array(await entry.photo.arrayBuffer()),
      date: new Date(entry.time) });
  }
  files.push({ name: "history.csv", data: new Uint8Array(await toCsv(entries).arrayBuffer()), date: new Date() });
  return { blob: zip(files), photos: files.length - 1 };
}
