// The worklist: cameras nearest first from the node's GPS fix, as a list or on a map.
"use strict";
(() => {
  const { call, t, formatDistance, el, showGps } = SurveyNode;
  const PAGE = 30;
  const state = { offset: 0, total: 0, fix: null, listedFrom: null, view: "list", map: null,
                  markers: null, me: null, asked: 0 };
  const form = document.getElementById("filters");
  const list = document.getElementById("worklist");

  function metresBetween(a, b) {
    const rad = Math.PI / 180, dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
    const h = Math.sin(dLat / 2) ** 2 +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
    return 12742000 * Math.asin(Math.sqrt(h));
  }

  async function pollGps() {
    const chip = document.getElementById("gps-chip");
    let gps = null;
    try {
      gps = await call("GET", "/api/v1/gps", undefined, { timeoutMs: 5000 });
    } catch {
      gps = null;
    }
    const fix = showGps(chip, gps);
    if (fix) state.fix = fix;
    // Re-sort only when the surveyor has moved: a list that jumps under a finger is worse.
    if (state.fix && (!state.listedFrom || metresBetween(state.fix, state.listedFrom) > 50)) {
      load();
    }
    drawMe();
  }

  async function load() {
    const params = new URLSearchParams(new FormData(form));
    for (const [k, v] of [...params]) if (!v) params.delete(k);
    params.set("limit", PAGE);
    params.set("offset", state.offset);
    if (state.fix) {
      params.set("lat", state.fix.lat.toFixed(6));
      params.set("lon", state.fix.lon.toFixed(6));
      state.listedFrom = { lat: state.fix.lat, lon: state.fix.lon };
    }
    // Only the newest question's answer is drawn: on slow WiFi the page's first, unfiltered
    // list can arrive after the one the surveyor just filtered for, and overwrote it.
    const asked = ++state.asked;
    try {
      const page = await call("GET", `/api/v1/worklist?${params}`);
      if (asked !== state.asked) return;
      state.total = page.total;
      render(page.items);
    } catch (err) {
      if (asked !== state.asked) return;
      document.getElementById("summary").textContent = err.message;
    }
  }

  function render(items) {
    list.replaceChildren();
    const to = Math.min(state.offset + items.length, state.total);
    document.getElementById("summary").textContent = items.length
      ? t("page_of", { from: state.offset + 1, to, total: state.total.toLocaleString() })
      : t("nothing");
    for (const item of items) {
      const where = item.distance_m != null
        ? `${formatDistance(item.distance_m)} ${document.documentElement.lang === "th" ? item.direction_th : item.direction_en}`
        : (item.registered_lat == null ? t("no_position") : "");
      const badge = el("span", { class: `badge badge-${item.survey_state}` }, t(item.survey_state));
      list.append(el("li", { class: "camera-item tappable", "data-camera": item.camera_id },
        el("a", { href: `/survey/${encodeURIComponent(item.camera_id)}`, class: "camera-link" },
          el("div", { class: "camera-main" },
            el("strong", { class: "site" }, item.site_name || item.place_name || item.camera_id),
            badge,
            // A later registry file no longer lists it: the work stays, flagged.
            item.removed ? el("span", { class: "badge badge-removed", "data-testid": "removed-flag" },
                              t("removed_from_registry")) : null,
            el("span", { class: "distance" }, where)),
          el("div", { class: "camera-meta" },
            el("span", { class: "tag" }, item.camera_id), el("span", {}, item.agency || ""),
            el("span", {}, [item.tambon_name, item.amphoe_name].filter(Boolean).join(" · "))),
          ...(item.survey && item.survey.review_reason && ["resurvey", "rejected"].includes(item.survey.review_state)
            ? [el("p", { class: "review-note", "data-testid": "worklist-review-note" },
                  t(`review_${item.survey.review_state}`, { reason: item.survey.review_reason }))]
            : []))));
    }
    document.getElementById("prev").disabled = state.offset === 0;
    document.getElementById("next").disabled = state.offset + PAGE >= state.total;
    drawMarkers(items);
  }

  function ensureMap() {
    if (state.map || typeof L === "undefined") return;
    const box = document.getElementById("map");
    state.map = L.map(box, { zoomControl: true, attributionControl: false })
      .setView([13.6, 100.6], 12);
    if (box.dataset.basemap) {
      L.tileLayer("/tiles/{z}/{x}/{y}.png", {
        maxZoom: 19, maxNativeZoom: Number(box.dataset.basemapMaxZoom) || 19 }).addTo(state.map);
    }
    state.markers = L.layerGroup().addTo(state.map);
  }

  function drawMarkers(items) {
    if (!state.map) return;
    state.markers.clearLayers();
    const points = [];
    for (const item of items) {
      if (item.registered_lat == null) continue;
      const at = [item.registered_lat, item.registered_lon];
      // What a finger hits is 44 px across (an invisible ring); what shows is 24 px.
      L.circleMarker(at, { radius: 12, weight: 3, interactive: false,
                           className: `marker-${item.survey_state}` }).addTo(state.markers);
      const link = el("a", { href: `/survey/${encodeURIComponent(item.camera_id)}`,
                             class: "popup-link" }, item.site_name || item.camera_id);
      L.circleMarker(at, { radius: 22, stroke: false, fillOpacity: 0, className: "marker-hit" })
        .bindPopup(link).addTo(state.markers);
      points.push([item.registered_lat, item.registered_lon]);
    }
    if (state.fix) points.push([state.fix.lat, state.fix.lon]);
    if (points.length) state.map.fitBounds(points, { padding: [30, 30], maxZoom: 17 });
  }

  function drawMe() {
    if (!state.map || !state.fix) return;
    if (state.me) state.me.remove();
    state.me = L.layerGroup([
      L.circle([state.fix.lat, state.fix.lon], { radius: state.fix.eph || 10, className: "accuracy" }),
      L.circleMarker([state.fix.lat, state.fix.lon], { radius: 7, className: "me" })
        .bindTooltip(t("you_are_here")),
    ]).addTo(state.map);
  }

  document.querySelectorAll("[data-view]").forEach((button) => button.addEventListener("click", () => {
    state.view = button.dataset.view;
    document.querySelectorAll("[data-view]").forEach((b) => b.classList.toggle("active", b === button));
    document.getElementById("map").hidden = state.view !== "map";
    list.hidden = state.view === "map";
    if (state.view === "map") {
      ensureMap();
      state.map.invalidateSize();
      load();
    }
  }));
  form.addEventListener("change", () => {
    form.querySelectorAll(".show-toggle label").forEach((l) =>
      l.classList.toggle("active", l.querySelector("input").checked));
    state.offset = 0;
    load();
  });
  // Enter in the search box searches at once; the form never reloads the page (that cleared
  // the search, and an inline onsubmit is blocked by the page's CSP).
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typing);
    state.offset = 0;
    load();
  });
  let typing;
  form.q.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.offset = 0; load(); }, 400);
  });
  document.getElementById("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE); load(); window.scrollTo(0, 0);
  });
  document.getElementById("next").addEventListener("click", () => {
    state.offset += PAGE; load(); window.scrollTo(0, 0);
  });
  load();
  pollGps();
  setInterval(pollGps, 5000);
})();
