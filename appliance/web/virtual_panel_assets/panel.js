// Virtual front panel: mirrors the OLED and sends button edges (down/up) in order.
"use strict";
(function () {
  const oled = document.getElementById("oled");
  const screenName = document.getElementById("screen");
  const keys = { ArrowLeft: "left", Enter: "ok", ArrowRight: "right" };
  let shown = -1;
  let queue = Promise.resolve();
  const down = new Set();

  function applyState(state) {
    screenName.textContent = state.screen;
    if (state.sequence !== shown) {
      shown = state.sequence;
      oled.src = "/panel/frame.png?seq=" + state.sequence;
    }
    const leds = document.getElementById("leds");
    if (state.leds) {
      leds.hidden = false;
      for (const name of ["pwr", "cs", "p1"]) {
        document.getElementById("led-" + name).classList.toggle("on", state.leds[name]);
      }
    }
  }

  function send(button, edge) {
    queue = queue.then(() =>
      fetch("/panel/button/" + button + "/" + edge, {
        method: "POST", headers: { "X-Panel": "1" }, credentials: "same-origin",
      }).then((r) => (r.ok ? r.json().then(applyState) : null)).catch(() => null));
  }

  function press(button) {
    if (down.has(button)) return;
    down.add(button);
    document.getElementById("btn-" + button).classList.add("down");
    send(button, "down");
  }

  function release(button) {
    if (!down.has(button)) return;
    down.delete(button);
    document.getElementById("btn-" + button).classList.remove("down");
    send(button, "up");
  }

  for (const element of document.querySelectorAll("[data-button]")) {
    const button = element.dataset.button;
    element.addEventListener("pointerdown", (event) => {
      element.setPointerCapture(event.pointerId);
      press(button);
    });
    element.addEventListener("pointerup", () => release(button));
    element.addEventListener("pointercancel", () => release(button));
    element.addEventListener("keydown", (event) => { if (event.key === " ") event.preventDefault(); });
  }
  document.addEventListener("keydown", (event) => {
    const button = keys[event.key];
    if (!button) return;
    event.preventDefault();
    if (!event.repeat) press(button);
  });
  document.addEventListener("keyup", (event) => {
    const button = keys[event.key];
    if (button) { event.preventDefault(); release(button); }
  });
  window.addEventListener("blur", () => { for (const b of [...down]) release(b); });

  async function poll() {
    try {
      const r = await fetch("/panel/state", { cache: "no-store" });
      if (r.ok) applyState(await r.json());
    } catch (e) { /* the appliance restarts: keep trying */ }
    setTimeout(poll, 200);
  }
  poll();
})();
