// CloudAtlas web page: choose or take a photo, shrink it in the browser, ask the API, show the answer.
// Vanilla JS, no build step, no external requests (the page's Content-Security-Policy forbids them).
"use strict";

(() => {
  const API = "/api/v1";
  const MAX_SIDE = 1280;            // the model needs 224 px; this keeps phone uploads to ~200-400 kB
  const SHRINK_ABOVE_BYTES = 1.5e6; // smaller files that are not too large in pixels go as they are
  const CLOSE_RATIO = 0.6;          // runner-up at >= 60 % of the top probability: "may hold more than one"

  const $ = (id) => document.getElementById(id);
  const els = {
    drop: $("drop"), photo: $("photo"), camera: $("camera"), preview: $("preview"), previewImg: $("preview-img"),
    camImg: $("cam-img"), status: $("status"), error: $("error"), rejection: $("rejection"),
    clearSky: $("clear-sky"),
    rejectionScore: $("rejection-score"), showAnyway: $("show-anyway"), result: $("result"), topName: $("top-name"),
    topConfidence: $("top-confidence"), mixed: $("mixed"), guessWarning: $("guess-warning"), camToggle: $("cam-toggle"),
    cardTitle: $("card-title"), cardLook: $("card-look"), cardLevel: $("card-level"),
    cardPrecipitation: $("card-precipitation"), bars: $("bars"),
  };

  let genera = {};           // code -> {name, level, look, precipitation}
  let previewUrl = null;
  let inFlight = null;       // AbortController of the request in progress

  const percent = (p) => `${Math.round(p * 100)}%`;

  // -- genus descriptions, loaded once --------------------------------------------------------
  fetch(`${API}/labels`)
    .then((r) => (r.ok ? r.json() : { labels: [] }))
    .then((data) => { for (const g of data.labels) genera[g.code] = g; })
    .catch(() => { /* the card then shows only the name */ });

  // -- status, errors and sections ------------------------------------------------------------
  function setStatus(text, busy = false) {
    els.status.textContent = text;
    els.status.classList.toggle("busy", busy);
  }

  function showError(text) {
    els.error.textContent = text;
    els.error.hidden = false;
  }

  function resetAnswer() {
    els.error.hidden = true;
    els.rejection.hidden = true;
    els.clearSky.hidden = true;
    els.result.hidden = true;
    els.camImg.hidden = true;
    els.camImg.removeAttribute("src");
    els.camToggle.checked = false;
  }

  // -- preparing the upload -------------------------------------------------------------------
  async function decode(file) {
    if (!("createImageBitmap" in window)) return null;
    try {
      return await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch {
      return null; // not an image this browser can read (a text file, or HEIC on most browsers)
    }
  }

  function toJpeg(bitmap, scale) {
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  }

  // Large photos are shrunk here: the server would only shrink them again, after a slow upload.
  // Whatever the browser cannot decode goes to the server unchanged, which explains the problem.
  async function prepare(file) {
    const bitmap = await decode(file);
    if (!bitmap) return { blob: file, name: file.name, viewable: false };
    const longest = Math.max(bitmap.width, bitmap.height);
    let blob = file;
    if (longest > MAX_SIDE || file.size > SHRINK_ABOVE_BYTES) {
      blob = (await toJpeg(bitmap, Math.min(1, MAX_SIDE / longest))) || file;
    }
    if (bitmap.close) bitmap.close();
    const name = blob === file ? file.name : file.name.replace(/\.[^.]*$/, "") + ".jpg";
    return { blob, name, viewable: true };
  }

  function showPreview(blob) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(blob);
    els.previewImg.src = previewUrl;
    els.preview.hidden = false;
  }

  // -- asking the API -------------------------------------------------------------------------
  async function classify(upload, signal) {
    const form = new FormData();
    form.append("file", upload.blob, upload.name || "photo.jpg");
    let response;
    try {
      response = await fetch(`${API}/classify?cam=true`, { method: "POST", body: form, signal });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new Error("Could not reach CloudAtlas. Check your connection and try again.");
    }
    let body = null;
    try { body = await response.json(); } catch { /* not JSON: handled below */ }
    if (!response.ok) {
      throw new Error((body && body.message) || friendlyStatus(response.status));
    }
    return body;
  }

  function friendlyStatus(status) {
    if (status === 413) return "That file is too large. Try a smaller copy of the photo.";
    if (status === 415) return "That file is not a photo. Choose a JPEG, PNG, WebP or HEIC photo.";
    if (status >= 500) return "Something went wrong on the server. Please try again in a moment.";
    return "That photo could not be used. Please try another one.";
  }

  async function handleFile(file) {
    if (!file) return;
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    resetAnswer();
    setStatus("Looking at the sky…", true);
    try {
      const upload = await prepare(file);
      if (upload.viewable) showPreview(upload.blob); else els.preview.hidden = true;
      const result = await classify(upload, controller.signal);
      if (controller !== inFlight) return;
      setStatus("");
      render(result);
    } catch (err) {
      if (err.name === "AbortError" || controller !== inFlight) return;
      setStatus("");
      showError(err.message || "That photo could not be used. Please try another one.");
    } finally {
      if (controller === inFlight) inFlight = null;
    }
  }

  // -- showing the answer ---------------------------------------------------------------------
  function render(result) {
    // The verdict decides what is shown; is_cloud only for servers older than the verdict.
    const verdict = result.verdict || (result.is_cloud === false ? "not_sky" : "cloud");
    const rejected = verdict === "not_sky";
    els.guessWarning.hidden = !rejected;
    fillResult(result);
    if (verdict === "clear_sky") {
      els.clearSky.hidden = false;
      els.result.hidden = true;
      document.getElementById("clear-sky-title").focus();
    } else if (rejected) {
      const score = typeof result.cloud_score === "number" ? result.cloud_score.toFixed(2) : "low";
      els.rejectionScore.textContent = `sky-photo score ${score}`;
      els.rejection.hidden = false;
      els.result.hidden = true;
      document.getElementById("rejection-title").focus();
    } else {
      els.result.hidden = false;
      els.topName.focus();
    }
  }

  function fillResult(result) {
    const [top, second] = result.predictions;
    const genus = genera[top.label] || {};
    els.topName.textContent = top.name;
    els.topConfidence.textContent = percent(top.probability);

    const close = second && second.probability >= CLOSE_RATIO * top.probability;
    els.mixed.hidden = !close;
    if (close) {
      els.mixed.textContent = `The sky may hold more than one cloud type: ${top.name} (${percent(top.probability)}) ` +
        `or ${second.name} (${percent(second.probability)}).`;
    }

    els.cardTitle.textContent = `${top.name} (${top.label})`;
    els.cardLook.textContent = genus.look || "No description for this label.";
    els.cardLevel.textContent = genus.level || "unknown";
    els.cardPrecipitation.textContent = genus.precipitation || "unknown";

    els.bars.replaceChildren(...result.predictions.map((p, i) => bar(p, i === 0)));
    requestAnimationFrame(() => {
      els.bars.querySelectorAll(".fill").forEach((fill) => { fill.style.width = fill.dataset.width; });
    });

    els.camToggle.disabled = !result.cam;
    if (result.cam) els.camImg.src = result.cam;
    els.camImg.hidden = !els.camToggle.checked || !result.cam;
  }

  function bar(p, isTop) {
    const li = document.createElement("li");
    if (isTop) li.className = "top";
    const label = document.createElement("span");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = p.name;
    const code = document.createElement("span");
    code.className = "code";
    code.textContent = ` ${p.label}`;
    label.append(name, code);
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = p.probability < 0.005 && p.probability > 0 ? "<1%" : percent(p.probability);
    const track = document.createElement("span");
    track.className = "track";
    track.setAttribute("aria-hidden", "true");
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.dataset.width = `${(p.probability * 100).toFixed(1)}%`;
    track.append(fill);
    li.append(label, pct, track);
    return li;
  }

  // -- wiring ---------------------------------------------------------------------------------
  els.showAnyway.addEventListener("click", () => {
    els.rejection.hidden = true;
    els.result.hidden = false;
    els.topName.focus();
  });

  els.camToggle.addEventListener("change", () => {
    els.camImg.hidden = !els.camToggle.checked || !els.camImg.getAttribute("src");
  });

  for (const input of [els.photo, els.camera]) {
    input.addEventListener("change", () => {
      handleFile(input.files && input.files[0]);
      input.value = ""; // choosing the same file again still triggers a new answer
    });
  }

  // Drag and drop anywhere on the page; the drop zone lights up.
  let dragDepth = 0;
  window.addEventListener("dragenter", (e) => { e.preventDefault(); dragDepth++; els.drop.classList.add("dragging"); });
  window.addEventListener("dragleave", () => { if (--dragDepth <= 0) { dragDepth = 0; els.drop.classList.remove("dragging"); } });
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    dragDepth = 0;
    els.drop.classList.remove("dragging");
    const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (file) handleFile(file);
  });

  // Pasting a screenshot or a copied image works too.
  window.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.kind === "file");
    if (item) handleFile(item.getAsFile());
  });
})();
