// Starts a stream check for the page's camera and polls its job until it is done.
(function () {
  "use strict";
  const box = document.querySelector("[data-start-url]");
  if (!box) return;
  const button = box.querySelector("[data-testid=start-check]");
  const progressBox = box.querySelector(".sc-progress");
  const bar = progressBox.querySelector("progress");
  const message = progressBox.querySelector(".sc-message");
  const resultBox = box.querySelector(".sc-result");
  const token = document.querySelector("meta[name=csrf-token]").content;
  const labels = JSON.parse(box.dataset.metricLabels || "{}");
  const METRICS = [["connect_ms", "ms"], ["first_frame_ms", "ms"], ["codec", ""], ["width", "px"],
    ["height", "px"], ["fps", ""], ["bitrate_kbps", "kbps"], ["keyframe_interval_s", "s"],
    ["luma", ""], ["contrast", ""], ["frozen_score", ""], ["blur_score", ""]];

  function show(result) {
    resultBox.hidden = false;
    const label = resultBox.querySelector(".sc-label");
    label.textContent = result.label;
    label.className = "sc-label verdict-" + result.verdict;
    resultBox.querySelector(".sc-explanation").textContent = result.explanation;
    resultBox.querySelector(".sc-error").textContent = result.error || "";
    const list = resultBox.querySelector(".sc-metrics");
    list.replaceChildren();
    for (const [key, unit] of METRICS) {
      if (result[key] === null || result[key] === undefined) continue;
      const dt = document.createElement("dt");
      dt.textContent = labels[key] || key;
      const dd = document.createElement("dd");
      dd.textContent = result[key] + (unit ? " " + unit : "");
      list.append(dt, dd);
    }
    const img = resultBox.querySelector(".sc-snapshot");
    if (result.snapshot_url) { img.src = result.snapshot_url; img.hidden = false; } else { img.hidden = true; }
  }

  async function poll(url) {
    for (;;) {
      const reply = await fetch(url, { headers: { Accept: "application/json" } });
      const job = await reply.json();
      if (!reply.ok) throw new Error(job.message || box.dataset.msgFailed);
      bar.value = job.progress;
      message.textContent = job.message;
      if (job.state === "done") return job.result;
      if (job.state === "failed") throw new Error(job.error || box.dataset.msgFailed);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    resultBox.hidden = true;
    progressBox.hidden = false;
    bar.value = 0;
    message.textContent = box.dataset.msgStarting;
    try {
      const reply = await fetch(box.dataset.startUrl, {
        method: "POST", headers: { "X-CSRFToken": token, Accept: "application/json" },
      });
      const started = await reply.json();
      if (!reply.ok) throw new Error(started.message || box.dataset.msgFailed);
      show(await poll(started.poll));
      progressBox.hidden = true;
    } catch (err) {
      message.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
})();
