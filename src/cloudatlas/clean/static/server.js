// The cleaner's server, through the API client it shares with the phone page
// (/static/shared/api.js: fetch and the JSON error format {status, error, message}).
import { request } from "/static/shared/api.js";

// The server writes a secret into this page; only requests carrying it may change files, so
// other web pages open in the browser cannot drive the cleaner.
const TOKEN = document.querySelector('meta[name="cloudatlas-token"]').content;
const changing = (json) => ({ method: "POST", json, headers: { "X-CloudAtlas-Token": TOKEN } });

export const loadState = () => request("/api/state");
export const act = (id, action, label) =>
  request(`/api/items/${id}/${action}`, changing(action === "move" ? { label } : undefined));
export const undo = (entry) => request("/api/undo", changing(entry == null ? {} : { entry }));
export const photoUrl = (v, size) => `/api/photo/${v.id}?${size ? `size=${size}&` : ""}v=${encodeURIComponent(v.path)}`;
