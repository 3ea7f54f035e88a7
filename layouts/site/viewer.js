/* The page viewer of the readers' e-edition (gp-print).  Without this file page.html shows the
   pages stacked and #p7 scrolls to page 7; with it, one page at a time fills the window:
     ← →  PageUp PageDown  Home End   previous / next / first / last page
     + −  0                           zoom in / out / whole page
     swipe left or right              next / previous page (at the whole-page size)
     drag, wheel                      pan when zoomed in;  Ctrl + wheel, pinch, double-click: zoom
   The URL follows the page (page.html#p7), so it can be shared.  No libraries, no inline code. */
(function () {
  "use strict";

  const viewer = document.getElementById("viewer");
  if (!viewer) return;
  const pages = Array.from(viewer.querySelectorAll(".page"));
  if (!pages.length) return;
  const toolbar = document.getElementById("toolbar");
  const where = document.getElementById("where");
  const baseTitle = viewer.dataset.title || document.title;
  const MIN_ZOOM = 1;
  const MAX_ZOOM = 6;
  const STEP = 1.5;
  const SWIPE_PX = 50;
  const DRAG_PX = 6;

  document.documentElement.classList.add("js-viewer");
  toolbar.hidden = false;

  let current = 0;
  // View of the current page: its size at zoom 1 (fitted to the stage) and the transform.
  const view = { baseW: 0, baseH: 0, scale: 1, x: 0, y: 0 };

  function stageOf(i) { return pages[i].querySelector(".stage"); }
  function sheetOf(i) { return pages[i].querySelector(".sheet"); }

  function indexFromHash() {
    const match = /^#p(\d+)$/.exec(location.hash);
    if (!match) return 0;
    const found = pages.findIndex((p) => p.dataset.number === match[1]);
    return found < 0 ? 0 : found;
  }

  function fit() {
    const stage = stageOf(current);
    const img = sheetOf(current).querySelector("img");
    const ratio = (img.naturalWidth || img.width) / (img.naturalHeight || img.height);
    const sw = stage.clientWidth;
    const sh = stage.clientHeight;
    const pad = sw > 600 ? 16 : 4;
    let h = sh - 2 * pad;
    let w = h * ratio;
    if (w > sw - 2 * pad) {
      w = sw - 2 * pad;
      h = w / ratio;
    }
    view.baseW = Math.max(w, 1);
    view.baseH = Math.max(h, 1);
    const sheet = sheetOf(current);
    sheet.style.width = view.baseW + "px";
    sheet.style.height = view.baseH + "px";
  }

  function clamp() {
    const stage = stageOf(current);
    const sw = stage.clientWidth;
    const sh = stage.clientHeight;
    const w = view.baseW * view.scale;
    const h = view.baseH * view.scale;
    view.x = w <= sw ? (sw - w) / 2 : Math.min(0, Math.max(sw - w, view.x));
    view.y = h <= sh ? (sh - h) / 2 : Math.min(0, Math.max(sh - h, view.y));
  }

  function apply() {
    clamp();
    const sheet = sheetOf(current);
    sheet.style.transform = "translate(" + view.x + "px, " + view.y + "px) scale(" + view.scale + ")";
    const stage = stageOf(current);
    stage.classList.toggle("zoomed", view.scale > 1.001);
    viewer.dataset.zoom = view.scale.toFixed(2);
    if (view.scale >= 1.4) sharpen(sheet);
  }

  // The sharper picture, loaded the first time a page is zoomed in.
  function sharpen(sheet) {
    const src = sheet.dataset.zoomSrc;
    if (!src) return;
    delete sheet.dataset.zoomSrc;
    const img = sheet.querySelector("img");
    const loader = new Image();
    loader.onload = function () { img.src = src; };
    loader.src = src;
  }

  function zoomTo(scale, px, py) {
    const stage = stageOf(current);
    if (px === undefined) {
      px = stage.clientWidth / 2;
      py = stage.clientHeight / 2;
    }
    const next = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, scale));
    // Keep the point under (px, py) where it is.
    view.x = px - (px - view.x) * (next / view.scale);
    view.y = py - (py - view.y) * (next / view.scale);
    view.scale = next;
    apply();
  }

  function show(i, focusPage) {
    i = Math.max(0, Math.min(pages.length - 1, i));
    pages[current].classList.remove("current");
    current = i;
    const page = pages[current];
    page.classList.add("current");
    view.scale = 1;
    fit();
    apply();
    const number = page.dataset.number;
    viewer.dataset.page = number;
    where.textContent = "Page " + number + " of " + pages.length;
    document.title = "Page " + number + " — " + baseTitle;
    toolbar.querySelector('[data-action="prev"]').disabled = current === 0;
    toolbar.querySelector('[data-action="next"]').disabled = current === pages.length - 1;
    if (location.hash !== "#p" + number) history.replaceState(null, "", "#p" + number);
    // Fetch the neighbours so turning the page is instant.
    [current - 1, current + 1].forEach(function (n) {
      if (n >= 0 && n < pages.length) {
        const img = pages[n].querySelector(".page-image");
        if (img.loading === "lazy") img.loading = "eager";
      }
    });
    if (focusPage) stageOf(current).focus({ preventScroll: true });
  }

  function go(delta) { show(current + delta); }

  toolbar.addEventListener("click", function (event) {
    const button = event.target.closest("button");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "prev") go(-1);
    else if (action === "next") go(1);
    else if (action === "zoom-in") zoomTo(view.scale * STEP);
    else if (action === "zoom-out") zoomTo(view.scale / STEP);
    else if (action === "fit") zoomTo(1);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const step = 80;
    switch (event.key) {
      case "ArrowRight":
        if (view.scale > 1.001 && event.shiftKey) { view.x -= step; apply(); } else go(1);
        break;
      case "ArrowLeft":
        if (view.scale > 1.001 && event.shiftKey) { view.x += step; apply(); } else go(-1);
        break;
      case "ArrowDown":
        if (view.scale <= 1.001) return;
        view.y -= step; apply();
        break;
      case "ArrowUp":
        if (view.scale <= 1.001) return;
        view.y += step; apply();
        break;
      case "PageDown": go(1); break;
      case "PageUp": go(-1); break;
      case "Home": show(0); break;
      case "End": show(pages.length - 1); break;
      case "+": case "=": zoomTo(view.scale * STEP); break;
      case "-": case "_": zoomTo(view.scale / STEP); break;
      case "0": zoomTo(1); break;
      default: return;
    }
    event.preventDefault();
  });

  // Pointer gestures on the stage: pan, pinch, swipe.  A drag never becomes a click on a story.
  const pointers = new Map();
  let gesture = null;
  let suppressClick = false;

  function stagePoint(event) {
    const rect = stageOf(current).getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  function startGesture() {
    const points = Array.from(pointers.values());
    if (points.length === 1) {
      gesture = { kind: "one", x0: points[0].x, y0: points[0].y, vx: view.x, vy: view.y, moved: false };
    } else if (points.length === 2) {
      const d = Math.hypot(points[0].x - points[1].x, points[0].y - points[1].y) || 1;
      gesture = { kind: "pinch", d0: d, s0: view.scale, moved: true };
    }
  }

  pages.forEach(function (page, i) {
    const stage = page.querySelector(".stage");
    stage.tabIndex = -1;

    stage.addEventListener("pointerdown", function (event) {
      if (i !== current || (event.pointerType === "mouse" && event.button !== 0)) return;
      pointers.set(event.pointerId, stagePoint(event));
      startGesture();
    });

    stage.addEventListener("pointermove", function (event) {
      if (!pointers.has(event.pointerId) || !gesture) return;
      pointers.set(event.pointerId, stagePoint(event));
      const points = Array.from(pointers.values());
      if (gesture.kind === "one") {
        const dx = points[0].x - gesture.x0;
        const dy = points[0].y - gesture.y0;
        if (!gesture.moved && Math.hypot(dx, dy) > DRAG_PX) {
          gesture.moved = true;
          stage.setPointerCapture(event.pointerId);
          stage.classList.add("dragging");
        }
        if (gesture.moved && view.scale > 1.001) {
          view.x = gesture.vx + dx;
          view.y = gesture.vy + dy;
          apply();
        }
      } else if (gesture.kind === "pinch" && points.length === 2) {
        const d = Math.hypot(points[0].x - points[1].x, points[0].y - points[1].y) || 1;
        zoomTo(gesture.s0 * d / gesture.d0, (points[0].x + points[1].x) / 2, (points[0].y + points[1].y) / 2);
      }
    });

    function end(event) {
      if (!pointers.has(event.pointerId)) return;
      const point = stagePoint(event);
      pointers.delete(event.pointerId);
      stage.classList.remove("dragging");
      if (gesture && gesture.moved) {
        suppressClick = true;
        setTimeout(function () { suppressClick = false; }, 0);
      }
      if (gesture && gesture.kind === "one" && gesture.moved && view.scale <= 1.001 && event.type === "pointerup") {
        const dx = point.x - gesture.x0;
        const dy = point.y - gesture.y0;
        if (Math.abs(dx) > SWIPE_PX && Math.abs(dx) > 1.5 * Math.abs(dy)) go(dx < 0 ? 1 : -1);
      }
      gesture = null;
      if (pointers.size) startGesture();
    }
    stage.addEventListener("pointerup", end);
    stage.addEventListener("pointercancel", end);

    // Links and the picture would start the browser's own drag and cancel the gesture.
    stage.addEventListener("dragstart", function (event) { event.preventDefault(); });

    stage.addEventListener("click", function (event) {
      if (suppressClick) {
        event.preventDefault();
        event.stopPropagation();
      }
    }, true);

    stage.addEventListener("dblclick", function (event) {
      if (event.target.closest("a")) return;
      const p = stagePoint(event);
      zoomTo(view.scale > 1.001 ? 1 : 2.5, p.x, p.y);
    });

    stage.addEventListener("wheel", function (event) {
      if (i !== current) return;
      if (event.ctrlKey) {
        const p = stagePoint(event);
        zoomTo(view.scale * Math.exp(-event.deltaY / 300), p.x, p.y);
      } else if (view.scale > 1.001) {
        view.x -= event.deltaX;
        view.y -= event.deltaY;
        apply();
      } else {
        return;
      }
      event.preventDefault();
    }, { passive: false });

    page.querySelector(".page-image").addEventListener("load", function () {
      if (i === current && view.scale <= 1.001) { fit(); apply(); }
    });
  });

  // Links to other pages (jump lines, teasers) turn the page rather than scroll.
  viewer.addEventListener("click", function (event) {
    const link = event.target.closest('a[href^="#p"]');
    if (!link) return;
    const n = pages.findIndex((p) => "#p" + p.dataset.number === link.getAttribute("href"));
    if (n >= 0) {
      event.preventDefault();
      show(n, true);
    }
  });

  window.addEventListener("hashchange", function () { show(indexFromHash()); });
  window.addEventListener("resize", function () {
    const ratio = view.scale;
    fit();
    view.scale = ratio;
    apply();
  });

  pages[current].classList.add("current");
  show(indexFromHash());
  window.scrollTo(0, 0);  // the browser scrolled to #pN before the viewer took over
  viewer.dataset.ready = "1";
})();
