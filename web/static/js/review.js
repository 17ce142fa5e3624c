// The one-camera review page: the registered and surveyed positions with the GPS accuracy
// circle on an offline map, and photos that open at full size with a tap.
"use strict";
(() => {
  const box = document.getElementById("review-map");
  const num = (v) => (v === "" || v == null ? null : parseFloat(v));
  if (box && typeof L !== "undefined") {
    const d = box.dataset;
    const reg = num(d.regLat) != null ? [num(d.regLat), num(d.regLon)] : null;
    const got = num(d.lat) != null ? [num(d.lat), num(d.lon)] : null;
    const map = L.map(box, { attributionControl: false });
    if (d.basemap) L.tileLayer("/tiles/{z}/{x}/{y}.png", { maxZoom: 19, maxNativeZoom: Number(d.basemapMaxZoom) || 19 }).addTo(map);
    const points = [];
    if (reg) {
      L.circleMarker(reg, { radius: 9, weight: 3, color: "#0b57d0", fillOpacity: 0.6,
                            className: "pos-registered" })
        .bindTooltip(d.labelRegistered, { permanent: true, direction: "right" }).addTo(map);
      points.push(reg);
    }
    if (got) {
      const eph = num(d.eph);
      if (eph) {
        L.circle(got, { radius: eph, weight: 1, color: "#b00020", fillOpacity: 0.12,
                        className: "accuracy-circle" }).addTo(map);
        // The circle's own bounds need a map view first; LatLng.toBounds does not.
        const bounds = L.latLng(got).toBounds(eph * 2);
        points.push([bounds.getNorth(), bounds.getWest()], [bounds.getSouth(), bounds.getEast()]);
      }
      L.circleMarker(got, { radius: 7, weight: 3, color: "#b00020", fillOpacity: 0.9,
                            className: "pos-surveyed" })
        .bindTooltip(d.labelSurveyed, { permanent: true, direction: "left" }).addTo(map);
      points.push(got);
    }
    if (reg && got) L.polyline([reg, got], { dashArray: "6 6", weight: 2, color: "#555" }).addTo(map);
    if (points.length) map.fitBounds(points, { padding: [40, 40], maxZoom: 19 });
    else map.setView([13.75, 100.5], 6);
  }
  // Photos: a tap toggles between fitting the card and the photo's own size (pan by scrolling).
  document.querySelectorAll(".review-photo img").forEach((img) => {
    const toggle = () => img.closest(".review-photo").classList.toggle("zoomed");
    img.addEventListener("click", toggle);
    img.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
  });
})();
