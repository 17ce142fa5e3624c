// Polls an import job until it ends, moving the progress bar; then shows the result page.
// On a preview: removing the cameras the file lacks asks once more before it is sent.
(function () {
  "use strict";
  var undo = document.getElementById("undo-form");
  if (undo) {
    undo.addEventListener("submit", function (event) {
      if (!window.confirm(undo.querySelector("button").dataset.confirm)) event.preventDefault();
    });
  }
  var form = document.getElementById("import-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      var box = form.querySelector("input[name=remove_missing], input[name=removal]:checked");
      // "Update only" has nothing to confirm; a removal (box or choice) asks once more.
      if (box && box.checked && box.dataset.confirm && !window.confirm(box.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }
  var box = document.getElementById("job");
  if (!box || (box.dataset.state !== "queued" && box.dataset.state !== "running")) return;
  var bar = document.getElementById("job-progress");
  var message = document.getElementById("job-message");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) {
        if (bar) bar.value = job.progress;
        if (message && job.message) message.textContent = job.message;
        if (job.done_url) { window.location.assign(job.done_url); return; }
        setTimeout(poll, 700);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();
