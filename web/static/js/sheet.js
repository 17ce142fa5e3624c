// The evidence sheet's Print button (the page's CSP allows no inline handlers).
"use strict";
document.getElementById("print")?.addEventListener("click", () => window.print());
