// What an answer claims, by the rule of cloudatlas/inference/answer.py and verdict.py, applied to
// the numbers the server sends in /api/v1/model (thresholds measured on validation photos, and
// the genera of each level). Nothing here has a cut-off of its own: an answer computed on this
// device is worded exactly as the server and `cloudatlas predict` word it.

export const WORDS = { very_likely: "Very likely", likely: "Likely", unsure: "Not sure" };
const LEVEL_WORDS = { high: "A high cloud", middle: "A middle-level cloud", low: "A low cloud" };
const CONTRAIL = "Ct";

// Python rounds probabilities to 6 decimals before it words them; so does this.
const round6 = (p) => Math.round(p * 1e6) / 1e6;

export function confidenceOf(probability, thresholds) {
  if (probability >= thresholds.very_likely) return "very_likely";
  if (probability >= thresholds.likely) return "likely";
  return "unsure";
}

/** The summed probability of each level, most likely first (ties in the order given); empty
 *  when a label is no genus of any level (a model trained on classes of its own). */
export function levelsOf(labels, probabilities, levels) {
  const levelOf = {};
  for (const [level, codes] of Object.entries(levels || {})) for (const code of codes) levelOf[code] = level;
  if (!labels.every((label) => label in levelOf)) return [];
  const sums = Object.fromEntries(Object.keys(levels).map((level) => [level, 0]));
  labels.forEach((label, i) => { sums[levelOf[label]] += probabilities[i]; });
  return Object.entries(sums).map(([level, p]) => ({ level, probability: round6(p) }))
    .sort((a, b) => b.probability - a.probability);
}

/** cloudatlas.inference.verdict.verdict_of: not a sky photo, a clear sky (unless the model is
 *  sure it sees a contrail, the clear-sky gate's likeliest mistake), or a cloud. */
export function verdictOf(cloudScore, clearScore, gateThreshold, clearThreshold, sureOfAContrail = false) {
  if (cloudScore != null && gateThreshold != null && cloudScore < gateThreshold) return "not_sky";
  if (clearScore != null && clearThreshold != null && clearScore >= clearThreshold && !sureOfAContrail) return "clear_sky";
  return "cloud";
}

/** The answer in one line (answer.headline). ``ranked``: predictions most likely first. */
export function headlineOf(verdict, ranked, confidence, levels, levelConfidence, levelGenera) {
  if (verdict === "clear_sky") return "Clear sky: no clouds to name";
  if (verdict === "not_sky") return "This does not look like a sky photo";
  if (confidence !== "unsure") return `${WORDS[confidence]}: ${ranked[0].name}`;
  if (levels.length && levelConfidence && levelConfidence !== "unsure") {
    const level = levels[0].level;
    const names = ranked.filter((p) => levelGenera[level].includes(p.label)).slice(0, 2).map((p) => p.name);
    return `${LEVEL_WORDS[level]}: ${names.join(" or ")}?`;
  }
  return "Not sure: compare these";
}

/**
 * Raw model outputs -> what the answer claims: the predictions most likely first and the
 * API's words for them (verdict, confidence, levels, level, level_confidence, headline).
 * ``meta`` is /api/v1/model; ``out`` {probabilities, cloud_score, clear_sky_score}; ``given``
 * a verdict already reached (a server's), which the words then follow.
 */
export function claims(meta, out, given = null) {
  const probs = Array.from(out.probabilities);
  const order = probs.map((_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  const predictions = order.map((i) => ({ label: meta.labels[i], name: meta.names[i], probability: round6(probs[i]) }));
  const confidence = confidenceOf(predictions[0].probability, meta.thresholds.genus);
  const contrail = predictions[0].label === CONTRAIL && confidence === "very_likely";
  const verdict = given
    || verdictOf(out.cloud_score, out.clear_sky_score, meta.cloud_threshold, meta.clear_sky_threshold, contrail);
  const levels = levelsOf(meta.labels, probs, meta.levels);
  const levelConfidence = levels.length ? confidenceOf(levels[0].probability, meta.thresholds.level) : null;
  return {
    verdict, predictions, confidence, levels,
    level: levels.length ? levels[0].level : null,
    level_confidence: levelConfidence,
    headline: headlineOf(verdict, predictions, confidence, levels, levelConfidence, meta.levels),
  };
}

/** The genera a "Not sure" answer asks the person to compare: among those of the level it is sure
 *  of (as its headline names them), else among all, the fewest most likely ones that together
 *  reach "very likely" of holding the right genus; two at least, three at most. */
export function candidatesOf(answer, levelGenera, thresholds) {
  const levelFirst = answer.confidence === "unsure" && answer.level_confidence && answer.level_confidence !== "unsure"
    && levelGenera && levelGenera[answer.level];
  const pool = levelFirst ? answer.predictions.filter((p) => levelGenera[answer.level].includes(p.label)) : answer.predictions;
  const enough = thresholds ? thresholds.genus.very_likely : 1;
  const out = [];
  let sum = 0;
  for (const p of pool.slice(0, 3)) {
    if (out.length >= 2 && sum >= enough) break;
    out.push(p);
    sum += p.probability;
  }
  return out;
}
