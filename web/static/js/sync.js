// Poll the running sync job and move the progress bar; reload the page when it ends.
(function () {
  var box = document.querySelector("[data-job-url]");
  if (!box) return;
  var bar = box.querySelector("progress");
  var percent = box.querySelector("[data-role=percent]");
  function poll() {
    fetch(box.getAttribute("data-job-url"), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        bar.value = job.progress || 0;
        percent.textContent = Math.round((job.progress || 0) * 100);
        if (job.state === "done" || job.state === "failed") {
          window.location.reload();
        } else {
          setTimeout(poll, 700);
        }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
