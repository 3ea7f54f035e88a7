/* Text size of the article view (gp-print): A− and A+ change it, the choice is kept in
   localStorage for every article of the site.  Without JavaScript the buttons stay hidden and
   the browser's own zoom does the same. */
(function () {
  "use strict";
  const KEY = "gp-print.text-size";
  const MIN = -2;
  const MAX = 4;
  const root = document.documentElement;

  function stored() {
    try {
      const value = parseInt(localStorage.getItem(KEY) || "0", 10);
      return Number.isFinite(value) ? Math.max(MIN, Math.min(MAX, value)) : 0;
    } catch (e) {
      return 0;
    }
  }

  let size = stored();
  function apply() {
    if (size) root.dataset.textSize = String(size);
    else delete root.dataset.textSize;
    if (box) {
      box.querySelector('[data-step="-1"]').disabled = size <= MIN;
      box.querySelector('[data-step="1"]').disabled = size >= MAX;
    }
  }

  const box = document.getElementById("text-size");
  apply();
  if (!box) return;
  box.hidden = false;
  box.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-step]");
    if (!button) return;
    size = Math.max(MIN, Math.min(MAX, size + parseInt(button.dataset.step, 10)));
    try { localStorage.setItem(KEY, String(size)); } catch (e) { /* private mode: this page only */ }
    apply();
  });
})();
