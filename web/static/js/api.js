// Small helpers shared by the pages: JSON calls with the CSRF token and a deadline, and
// text in the page's language (the server renders the translations into a JSON block).
"use strict";
const SurveyNode = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const textBlock = document.getElementById("i18n");
  const texts = textBlock ? JSON.parse(textBlock.textContent) : {};

  async function call(method, url, body, { timeoutMs = 20000 } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const options = { method, headers: { "X-CSRFToken": csrf }, signal: controller.signal,
                      credentials: "same-origin" };
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    try {
      const response = await fetch(url, options);
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        const error = new Error(data.message || t("network_error"));
        error.status = response.status;
        error.data = data;
        throw error;
      }
      return data;
    } catch (err) {
      if (err.name === "AbortError" || err instanceof TypeError) {
        const offline = new Error(t("network_error"));
        offline.offline = true;
        throw offline;
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  function t(key, params = {}) {
    let text = texts[key] || key;
    for (const [k, v] of Object.entries(params)) text = text.replace(`%(${k})s`, v);
    return text;
  }

  function formatDistance(m) {
    if (m === null || m === undefined) return "";
    return m < 1000 ? `${Math.round(m)} ${t("m")}` : `${(m / 1000).toFixed(1)} ${t("km")}`;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else if (k in node) node[k] = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  // The GPS chip: the node's fix and its quality, or the state it is in, in words.
  // Returns the fix when it is usable (2D or 3D, not stale), else null.
  function showGps(chip, gps) {
    const fix = gps && gps.fix;
    if (fix && (gps.state === "fix_3d" || gps.state === "fix_2d")) {
      // gpsd's eph without a GST is only HDOP x 19 m: show the HDOP it came from instead.
      const mode = gps.state === "fix_3d" ? "3D" : "2D";
      const sats = fix.sats_used ?? "?";
      chip.textContent = fix.eph_source === "estimated" && fix.hdop != null
        ? t("gps_fix_hdop", { mode, hdop: fix.hdop.toFixed(1), sats })
        : t("gps_fix", { mode, eph: fix.eph != null ? Math.round(fix.eph) : "?", sats });
      if (gps.good === false && gps.why) chip.textContent += ` · ${gps.why}`;
      chip.className = "gps-chip ok";
      return fix;
    }
    // No usable fix: plain words and what to do (the technical line is for doctor).
    chip.textContent = gps ? (gps.advice || gps.message || t("gps_nofix")) : t("gps_none");
    chip.className = "gps-chip warn";
    return null;
  }

  // The node did not answer at all (the tablet left its WiFi, the node is off): not the
  // same as "no GPS fix", and the chip says so.
  function showUnreachable(chip) {
    chip.textContent = t("gps_node_unreachable");
    chip.className = "gps-chip warn";
  }

  return { call, t, formatDistance, el, showGps, showUnreachable };
})();
