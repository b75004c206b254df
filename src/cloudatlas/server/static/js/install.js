// Installing the page: a button where the browser offers it (beforeinstallprompt: Chromium), and
// the way to do it by hand on iPhones and iPads, whose Safari has no prompt: Share, then
// "Add to Home Screen". Neither shows once the page runs installed.
import { $ } from "./dom.js";

const installed = () => window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
const isIOS = () => /iPad|iPhone|iPod/.test(navigator.userAgent)
  || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1); // iPadOS says it is a Mac

export function wireInstall() {
  let offer = null;
  const button = $("install");
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault(); // the page offers it with its own button, where the person can find it
    offer = event;
    button.hidden = false;
  });
  button.addEventListener("click", async () => {
    if (!offer) return;
    button.hidden = true;
    offer.prompt();
    await offer.userChoice.catch(() => null);
    offer = null;
  });
  window.addEventListener("appinstalled", () => { button.hidden = true; });
  $("ios-hint").hidden = !(isIOS() && !installed());
}
