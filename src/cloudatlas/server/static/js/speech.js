// "Say it": the settled live answer read aloud with the browser's own speech synthesis (its
// voices work offline on phones), so a person can keep looking at the sky instead of the screen.
const supported = () => "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;

export class Speaker {
  constructor() {
    this.on = false;
    this.last = "";
  }

  set(on) {
    this.on = on && supported();
    if (!this.on) window.speechSynthesis?.cancel();
    else this.last = ""; // switched on: say the current answer again
  }

  /** Say ``text`` unless it was the last thing said (an answer that holds is said once). */
  say(text) {
    if (!this.on || !text || text === this.last) return;
    this.last = text;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = document.documentElement.lang || "en";
    window.speechSynthesis.cancel(); // the newest answer, not a queue of old ones
    window.speechSynthesis.speak(utterance);
  }
}
