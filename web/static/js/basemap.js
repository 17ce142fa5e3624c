// The admin's basemap page: the coverage on a map of the tiles themselves, and an upload
// that sends the file as it is (a province's MBTiles is hundreds of MB) with its progress.
"use strict";
(() => {
  const { t } = SurveyNode;
  const box = document.getElementById("coverage");
  if (box && window.L) {
    const map = L.map(box, { attributionControl: false });
    L.tileLayer("/tiles/{z}/{x}/{y}.png", { maxZoom: 19, maxNativeZoom: Number(box.dataset.maxZoom) || 18 }).addTo(map);
    if (box.dataset.bounds) {
      const [w, s, e, n] = box.dataset.bounds.split(",").map(Number);
      L.rectangle([[s, w], [n, e]], { weight: 3, fill: false, className: "coverage" }).addTo(map);
      map.fitBounds([[s, w], [n, e]]);
    } else {
      map.setView([13.75, 100.5], 6);
    }
  }

  const input = document.getElementById("basemap-file");
  const bar = document.getElementById("basemap-progress");
  const error = document.getElementById("basemap-upload-error");
  input.addEventListener("change", () => {
    const file = input.files[0];
    if (!file) return;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/admin/basemap");
    xhr.setRequestHeader("X-CSRFToken", document.querySelector('meta[name="csrf-token"]').content);
    xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    error.hidden = true;
    bar.hidden = false;
    bar.value = 0;
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = (e.loaded / e.total) * 100;
    });
    xhr.addEventListener("load", () => {
      bar.hidden = true;
      if (xhr.status === 201) {
        window.location.reload();
        return;
      }
      let message = t("network_error");
      try { message = JSON.parse(xhr.responseText).message || message; } catch { /* not JSON */ }
      error.textContent = message;
      error.hidden = false;
      input.value = "";
    });
    xhr.addEventListener("error", () => {
      bar.hidden = true;
      error.textContent = t("network_error");
      error.hidden = false;
    });
    xhr.send(file);
  });
})();
