// The top menu: an admin's ten links, the language and log-out do not fit a 390 px bar
// (it scrolled sideways with no hint, and wrapped to a third of the screen), nor a
// portrait tablet's (a supervisor's took three rows, an admin's four: ~220 px of sticky
// bar). Wherever they would take more than two rows they fold behind one button and the
// bar is one row; where they fit in two they stay in the bar (a landscape tablet) and the
// button is not drawn. The link of the page you are on is marked, so the menu says where
// you are.
(function () {
  "use strict";
  const bar = document.querySelector("header.topbar");
  const toggle = bar && bar.querySelector(".menu-toggle");
  const menu = document.getElementById("topmenu");
  if (!toggle || !menu) return;

  // The longest link that the address starts with ("/" only for itself): /review/12
  // belongs to Review, /survey/5 to the worklist it was opened from.
  const here = location.pathname;
  let current = null;
  for (const link of menu.querySelectorAll("nav a[href]")) {
    const path = new URL(link.href, location.href).pathname;
    const matches = path === "/" ? here === "/" : here === path || here.startsWith(path + "/");
    if (matches && (!current || path.length > new URL(current.href).pathname.length)) current = link;
  }
  if (!current && here.startsWith("/survey/")) current = menu.querySelector("nav a[href$='/worklist']");
  if (current) current.setAttribute("aria-current", "page");

  function setOpen(open) {
    menu.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  }
  // Folded or not is measured, not guessed from the width (the links differ by role and
  // language): the bar is laid out unfolded and folds if it came out taller than two
  // folded bars (a folded bar is one row: the brand and the button).
  function fit() {
    bar.classList.add("folded");
    const oneRow = bar.getBoundingClientRect().height;
    bar.classList.remove("folded");
    const unfolded = bar.getBoundingClientRect().height;
    const fold = unfolded > oneRow * 2.4;
    bar.classList.toggle("folded", fold);
    if (!fold) setOpen(false);
  }
  toggle.hidden = false;
  bar.classList.add("menu-ready");
  fit();
  // The web font can arrive after the first layout and widen the links.
  if (document.fonts) document.fonts.ready.then(fit);
  let pending = false;
  window.addEventListener("resize", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; fit(); });
  });
  toggle.addEventListener("click", () => setOpen(!menu.classList.contains("open")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.classList.contains("open")) {
      setOpen(false);
      toggle.focus();
    }
  });
  // A tap anywhere outside the bar puts the menu away, as a phone's own menus do.
  document.addEventListener("click", (event) => {
    if (menu.classList.contains("open") && !bar.contains(event.target)) setOpen(false);
  });
})();
