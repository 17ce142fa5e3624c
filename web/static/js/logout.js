// Logging out forgets the survey pages this tablet kept for a reload without the node
// (sw.js): the next person on the tablet must not read the last one's surveys offline.
// Photos still waiting in the outbox stay: they are survey work, sent by their surveyor.
(function () {
  "use strict";
  const form = document.getElementById("logout-form");
  if (!form || !("caches" in window)) return;
  let cleared = false;
  form.addEventListener("submit", (event) => {
    if (cleared) return;
    event.preventDefault();
    const forget = caches.keys().then((names) => Promise.all(
      names.filter((n) => n.startsWith("survey-shell")).map((n) => caches.delete(n))));
    // Never let a slow cache keep someone from logging out.
    const enough = new Promise((resolve) => setTimeout(resolve, 1500));
    Promise.race([forget, enough]).catch(() => null).then(() => {
      cleared = true;
      form.submit();
    });
  });
})();
