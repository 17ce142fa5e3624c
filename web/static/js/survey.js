// The survey of one camera. Every change goes to the node at once; typed text is also
// kept in the tablet's storage until the node has acknowledged it, so a dropped WiFi, a
// sleeping tablet or a reload loses nothing.
"use strict";
(() => {
  const { call, t, formatDistance, el, showGps, showUnreachable } = SurveyNode;
  const app = document.getElementById("survey-app");
  const cameraId = app.dataset.camera;
  const warnMetres = parseFloat(app.dataset.warnM);
  let survey = null;
  const $ = (id) => document.getElementById(id);
  const pendingKey = () => `survey-pending:${survey.id}`;

  // An error shows by the control that failed (its section), scrolled into view, and
  // replaces whatever message was shown before; #page-error at the top is for the page
  // itself (the survey could not open). The API names the field a refusal is about.
  const FIELD_SECTION = { reason: "position", lat: "position", lon: "position",
                          position_reason: "position", notes: "checklist", complete: "finish",
                          photo: "photos", role: "photos" };
  function showError(message, where) {
    // A new message replaces every earlier one; a success (no message) clears only the
    // line of its own section, so a refusal elsewhere stays until it is read or replaced.
    const boxes = message || !where ? ".section-error, #page-error"
      : `.section-error[data-error-for="${where}"]`;
    document.querySelectorAll(boxes).forEach((box) => {
      box.hidden = true;
      box.textContent = "";
    });
    if (!message) return;
    const box = (where && document.querySelector(`.section-error[data-error-for="${where}"]`))
      || $("page-error");
    box.textContent = message;
    box.hidden = false;
    box.scrollIntoView({ block: "center", behavior: "smooth" });
  }
  const placeOf = (err, fallback) => FIELD_SECTION[err.data && err.data.field] || fallback;

  // One banner while the node does not answer; gone at its next answer.
  function reachable(ok) {
    const banner = $("offline-banner");
    banner.textContent = ok ? "" : t("node_unreachable");
    banner.hidden = ok;
  }

  function savedNow() {
    const time = new Date().toLocaleTimeString(document.documentElement.lang, {
      hour: "2-digit", minute: "2-digit" });
    $("save-status").textContent = t("saved_at", { time });
    $("save-status").className = "save-status ok";
  }

  async function act(promise, where) {
    $("save-status").textContent = t("saving");
    try {
      const updated = await promise;
      survey = updated;
      render();
      savedNow();
      // Once complete, no earlier refusal is left standing (a photo's stays otherwise).
      showError("", survey.state === "draft" ? (where || "page") : null);
      reachable(true);
      return updated;
    } catch (err) {
      // The reason is said once: by the control that failed, or (offline) in the banner.
      $("save-status").textContent = t("not_saved");
      $("save-status").className = "save-status warn";
      if (err.offline) reachable(false);
      else showError(err.message, placeOf(err, where));
      throw err;
    }
  }

  // -- typed answers: kept locally until the node confirms ----------------------------
  function pending() {
    try { return JSON.parse(localStorage.getItem(pendingKey()) || "{}"); } catch { return {}; }
  }
  function queue(change) {
    const merged = { ...pending(), ...change };
    if (change.checklist) merged.checklist = { ...(pending().checklist || {}), ...change.checklist };
    localStorage.setItem(pendingKey(), JSON.stringify(merged));
    flush();
  }
  let flushing = false;
  async function flush() {
    const change = pending();
    if (flushing || !Object.keys(change).length) return;
    flushing = true;
    try {
      await act(call("PUT", `/api/v1/surveys/${survey.id}/answers`, change), "checklist");
      // Drop only what was sent; anything typed meanwhile stays queued.
      const now = pending();
      for (const key of Object.keys(change)) {
        if (JSON.stringify(now[key]) === JSON.stringify(change[key])) delete now[key];
      }
      localStorage.setItem(pendingKey(), JSON.stringify(now));
    } catch (err) {
      // Refused (4xx): keep the node's truth. Offline or a server trouble such as 507 (the
      // node's disk is full): the answers stay here and go with the next flush.
      const refused = !err.offline && !(err.status >= 500);
      if (refused) localStorage.removeItem(pendingKey());
    } finally {
      flushing = false;
    }
  }
  setInterval(flush, 5000);
  document.addEventListener("visibilitychange", () => { if (document.hidden) flush(); });

  // -- rendering ----------------------------------------------------------------------
  function render() {
    // The survey as last seen, for a start without the node (see the start below).
    try { localStorage.setItem(`survey-snapshot:${cameraId || survey.id}`, JSON.stringify(survey)); } catch { /* full */ }
    const badge = $("state-badge");
    const stateKey = survey.review_state || survey.state;
    badge.textContent = t(stateKey);
    badge.className = `badge badge-${stateKey}`;
    // A supervisor sent it back: their reason stays on top until the survey is completed again.
    const note = $("review-note");
    const sentBack = ["resurvey", "rejected"].includes(survey.review_state) && survey.review_reason;
    note.hidden = !sentBack;
    note.textContent = sentBack ? t(`review_${survey.review_state}`, { reason: survey.review_reason }) : "";
    // Position
    const result = $("position-result");
    if (survey.lat != null) {
      const parts = [`${survey.lat.toFixed(6)}, ${survey.lon.toFixed(6)}`];
      if (survey.eph != null) parts.push(`±${Math.round(survey.eph)} ${t("m")}`);
      // A surveyor reading "±17 m" should know it is gpsd's guess from HDOP, not a measurement.
      if (survey.eph_source === "estimated") {
        parts.push(t("eph_estimated", { hdop: survey.hdop != null ? survey.hdop.toFixed(1) : "-" }));
      } else if (["gst", "receiver"].includes(survey.eph_source)) {
        parts.push(t("eph_measured"));
      }
      if (survey.samples) parts.push(t("samples", { n: survey.samples }));
      result.textContent = parts.join(" · ");
      if (survey.distance_m != null) {
        const far = survey.distance_m > warnMetres;
        result.append(el("br"), el("span", { class: far ? "warn" : "ok", "data-testid": "distance" },
          t(far ? "far" : "near", { d: formatDistance(survey.distance_m) })));
        $("far-reason").hidden = !far;
      }
    }
    const reason = $("position-reason");
    if (document.activeElement !== reason) reason.value = pending().position_reason ?? survey.position_reason ?? "";
    // Photos
    const thumbs = $("thumbs");
    thumbs.replaceChildren();
    for (const item of survey.evidence.filter((e) => e.role !== "snapshot" && e.role !== "view_reference")) {
      const remove = el("button", { type: "button", class: "btn btn-small", "aria-label": "remove" }, "✕");
      remove.addEventListener("click", () => {
        if (confirm(t("confirm_remove"))) {
          act(call("DELETE", `/api/v1/surveys/${survey.id}/photos/${item.sha256}`), "photos").catch(() => {});
        }
      });
      thumbs.append(el("figure", { class: "thumb", "data-role": item.role },
        el("img", { src: item.thumb_url, alt: item.role, loading: "lazy" }),
        el("figcaption", {}, document.querySelector(`.photo-button[data-role="${item.role}"]`)?.textContent.trim() || item.role),
        remove));
    }
    // Stream check
    const streamBox = $("stream-result");
    if (streamBox) {
      streamBox.replaceChildren();
      if (survey.stream_verdict) {
        const check = survey.stream_check || {};
        streamBox.append(el("p", { class: survey.stream_verdict === "ok" ? "ok" : "warn",
          "data-testid": "stream-verdict" }, check.label || survey.stream_verdict));
        if (check.explanation) streamBox.append(el("p", { class: "muted" }, check.explanation));
        if (check.width) {
          streamBox.append(el("p", { class: "muted" }, [
            `${check.codec || ""} ${check.width}×${check.height}`,
            check.fps ? `${Number(check.fps).toFixed(1)} fps` : "",
            check.bitrate_kbps ? `${check.bitrate_kbps} kbps` : "",
            check.keyframe_interval_s ? `GOP ${Number(check.keyframe_interval_s).toFixed(1)} s` : "",
          ].filter(Boolean).join(" · ")));
        }
        const snap = survey.evidence.find((e) => e.role === "snapshot");
        if (snap) streamBox.append(el("img", { src: snap.thumb_url, class: "snapshot", alt: "snapshot" }));
      }
      const check = survey.stream_check || {};
      if (check.onvif_manufacturer || check.onvif_model) {
        // Who the camera says it is: the surveyor sees at once a camera that is not this one.
        const drift = check.clock_drift_s;
        streamBox.append(el("p", { "data-testid": "onvif-identity" }, t("camera_says", {
          who: [check.onvif_manufacturer, check.onvif_model].filter(Boolean).join(" "),
          serial: check.onvif_serial || "—" })));
        if (drift != null && Math.abs(drift) > 60) {
          streamBox.append(el("p", { class: "warn", "data-testid": "clock-drift" },
            t("clock_off", { s: Math.round(drift) })));
        }
      }
      if (survey.found_stream_url) {
        streamBox.append(el("p", { "data-testid": "found-stream" },
          t("found_at", { url: survey.found_stream_url })));
        if ($("stream-check")) $("stream-check").hidden = false;
        if ($("no-stream-note")) $("no-stream-note").hidden = true;
      }
    }
    // Checklist
    const answers = { ...survey.checklist, ...(pending().checklist || {}) };
    document.querySelectorAll(".check-row").forEach((row) => {
      row.querySelectorAll("button").forEach((b) => {
        b.setAttribute("aria-checked", String(answers[row.dataset.key] === b.dataset.value));
      });
    });
    const notes = $("notes");
    if (document.activeElement !== notes) notes.value = pending().notes ?? survey.notes ?? "";
    // What is left
    // What is left: one line (open it for the list), so the sticky panel stays small.
    const missing = $("missing");
    const wasOpen = missing.querySelector("details")?.open;
    missing.replaceChildren();
    if (survey.state === "draft" && survey.missing.length) {
      const details = el("details", { "data-testid": "missing-details" },
        el("summary", {}, survey.missing.length === 1 ? t("missing_one", { first: survey.missing[0] })
          : t("missing_count", { n: survey.missing.length, first: survey.missing[0],
                                 more: survey.missing.length - 1 })));
      if (wasOpen) details.open = true;
      const ul = el("ul");
      survey.missing.forEach((m) => ul.append(el("li", {}, m)));
      details.append(ul);
      missing.append(details);
    } else if (survey.state !== "draft") {
      missing.append(el("p", { class: "ok" }, t("completed")));
      offerNextCamera();
    }
  }

  // -- GPS ----------------------------------------------------------------------------
  async function pollGps() {
    let gps = null;
    try {
      gps = await call("GET", "/api/v1/gps", undefined, { timeoutMs: 4000 });
    } catch (err) {
      if (err.offline) {
        showUnreachable($("gps-live"));
        reachable(false);
        return;
      }
      gps = null;
    }
    reachable(true);
    const fix = showGps($("gps-live"), gps);
    // No usable fix: the way to type the position is one tap away.
    $("type-position").hidden = Boolean(fix) || survey === null || survey.lat != null;
  }

  $("fix-position").addEventListener("click", async () => {
    const button = $("fix-position");
    const bar = $("fix-progress");
    const seconds = parseFloat(app.dataset.averageS) || 10;
    const extra = parseFloat(app.dataset.extraWaitS) || 0;
    button.disabled = true;
    bar.hidden = false;
    const started = Date.now();
    let waiting = "";
    let polling = false;
    let lastPoll = 0;
    const tick = setInterval(async () => {
      const done = Math.min(seconds, (Date.now() - started) / 1000);
      bar.value = (done / seconds) * 100;
      const line = t("averaging", { done: Math.floor(done), total: seconds });
      $("position-result").textContent = waiting ? `${line} ${waiting}` : line;
      // What the node waits for ("3 of 5 good fixes; last fix HDOP 4.0 above 2.0"), once a
      // second from the status API; the averaging itself is the POST below.
      if (polling || Date.now() - lastPoll < 1000) return;
      polling = true;
      lastPoll = Date.now();
      try {
        const gps = await call("GET", "/api/v1/gps", undefined, { timeoutMs: 2000 });
        waiting = (gps.averaging && gps.averaging.waiting) || "";
        showGps($("gps-live"), gps);
      } catch {
        waiting = "";
      } finally {
        polling = false;
      }
    }, 250);
    try {
      await act(call("POST", `/api/v1/surveys/${survey.id}/position/fix`, { seconds },
                     { timeoutMs: (seconds + extra + 15) * 1000 }), "position");
    } catch (err) {
      $("position-result").textContent = err.message;
    } finally {
      clearInterval(tick);
      bar.hidden = true;
      button.disabled = false;
    }
  });

  $("manual-save").addEventListener("click", () => {
    act(call("PUT", `/api/v1/surveys/${survey.id}/position`, {
      source: "manual", reason: $("manual-reason").value,
      // As typed: the node says which field is not a number, quoting it (parseFloat
      // would turn "13,75" into 13 and "abc" into nothing).
      fix: { lat: $("manual-lat").value, lon: $("manual-lon").value },
    }), "position").catch(() => {});
  });
  $("type-position").addEventListener("click", () => {
    $("manual-position").open = true;
    $("manual-lat").focus();
    $("manual-position").scrollIntoView({ block: "center", behavior: "smooth" });
  });

  let reasonTimer;
  $("position-reason").addEventListener("input", () => {
    clearTimeout(reasonTimer);
    reasonTimer = setTimeout(() => queue({ position_reason: $("position-reason").value }), 600);
  });

  // -- photos -------------------------------------------------------------------------
  // A photo goes into the tablet's outbox first, then to the node; it leaves the outbox
  // only when the node has it attached. Offline it waits there (shown as waiting) and is
  // sent when the node answers again, on this page or the next time the survey opens.
  document.querySelectorAll('input[type=file][data-role]').forEach((input) => {
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      input.value = "";
      try {
        await PhotoOutbox.add(survey.id, input.dataset.role, file);
      } catch {
        // No IndexedDB (private mode): send it directly, as before.
        return sendPhoto({ role: input.dataset.role, blob: file, name: file.name }, input);
      }
      await sendOutbox(input);
    });
  });

  async function sendPhoto(item, input) {
    const form = new FormData();
    form.append("photo", item.blob, item.name);
    if (item.takenAt) form.append("taken_at", item.takenAt);
    const label = input && input.closest(".photo-button");
    if (label) label.classList.add("busy");
    try {
      const stored = await call("POST", "/api/v1/photos", form, { timeoutMs: 120000 });
      await act(call("POST", `/api/v1/surveys/${survey.id}/photos`,
                     { sha256: stored.sha256, role: item.role }), "photos");
      return "sent";
    } catch (err) {
      if (err.offline) {
        reachable(false);
        return "wait";
      }
      if (err.status >= 500) {
        // Busy, or the node's disk is full: said here, and the photo stays in the outbox
        // for the next round.
        showError(err.message, "photos");
        return "wait";
      }
      showError(err.message, placeOf(err, "photos"));
      return "refused";
    } finally {
      if (label) label.classList.remove("busy");
    }
  }

  let sending = false;
  let again = false;
  async function sendOutbox(input) {
    if (!survey) return;
    if (sending) {
      again = true;  // a photo added meanwhile goes in this round, not in ten seconds
      return;
    }
    sending = true;
    try {
      do {
        again = false;
        await showWaiting();
        for (const item of await PhotoOutbox.list(survey.id)) {
          const outcome = await sendPhoto(item, input);
          if (outcome === "wait") {
            again = false;
            break;
          }
          await PhotoOutbox.remove(item.id);  // sent, or refused with its line shown
        }
      } while (again);
    } catch {
      // IndexedDB unavailable: nothing is kept there to send.
    } finally {
      sending = false;
      await showWaiting();
    }
  }

  async function showWaiting() {
    const box = $("waiting-thumbs");
    let items = [];
    try {
      items = await PhotoOutbox.list(survey.id);
    } catch {
      items = [];
    }
    for (const img of box.querySelectorAll("img")) URL.revokeObjectURL(img.src);
    box.replaceChildren(...items.map((item) => el("figure", {
      class: "thumb waiting", "data-testid": "photo-waiting", "data-role": item.role },
      el("img", { src: URL.createObjectURL(item.blob), alt: item.role }),
      el("figcaption", {}, t("photo_waiting")))));
  }
  window.addEventListener("online", () => sendOutbox());
  setInterval(() => sendOutbox(), 10000);

  const nodeCamera = $("node-camera");
  if (nodeCamera) {
    nodeCamera.addEventListener("click", async () => {
      const role = $("node-camera-role").value;
      const form = new FormData();
      form.append("source", "camera");
      nodeCamera.disabled = true;
      try {
        const stored = await call("POST", "/api/v1/photos", form, { timeoutMs: 60000 });
        await act(call("POST", `/api/v1/surveys/${survey.id}/photos`, { sha256: stored.sha256, role }), "photos");
      } catch (err) {
        if (err.offline) reachable(false);
        else showError(err.message, placeOf(err, "photos"));
      } finally {
        nodeCamera.disabled = false;
      }
    });
  }

  // -- stream check -------------------------------------------------------------------
  const checkButton = $("stream-check");
  if (checkButton) {
    checkButton.addEventListener("click", async () => {
      const bar = $("stream-progress");
      checkButton.disabled = true;
      bar.hidden = false;
      bar.removeAttribute("value");
      try {
        const started = await call("POST", `/api/v1/surveys/${survey.id}/stream-check`, {});
        let job = started;
        const deadline = Date.now() + 90000;
        while (!["done", "failed"].includes(job.state) && Date.now() < deadline) {
          $("stream-result").textContent = job.state === "queued" ? t("check_queued") : t("check_running");
          if (job.progress != null) bar.value = job.progress * 100;
          await new Promise((r) => setTimeout(r, 500));
          job = await call("GET", `/api/v1/jobs/${started.job_id || started.id}`);
        }
        await act(call("GET", `/api/v1/surveys/${survey.id}`), "stream");
        if (job.state === "failed") showError(job.error || job.message, "stream");
      } catch (err) {
        if (err.offline) reachable(false);
        else showError(err.message, "stream");
      } finally {
        checkButton.disabled = false;
        bar.hidden = true;
      }
    });
  }

  // -- find the stream by the maker's paths ---------------------------------------------
  // One line per try as the node reports it; the password is sent once and never shown.
  const findButton = $("find-start");
  if (findButton) {
    const showTries = (tries) => $("find-tries").replaceChildren(...(tries || []).map((tr) =>
      el("li", { class: ["ok", "black", "frozen", "blurred"].includes(tr.verdict) ? "ok" : "warn",
                 "data-verdict": tr.verdict },
        el("code", {}, tr.url), " — ", tr.label || tr.verdict)));
    const typedButton = $("find-url-start");
    const run = async (body, typed) => {
      findButton.disabled = true;
      if (typedButton) typedButton.disabled = true;
      showTries([]);
      $("find-outcome").textContent = t(typed ? "check_running" : "find_running");
      $("find-outcome").className = "muted";
      try {
        const started = await call("POST", `/api/v1/surveys/${survey.id}/stream-find`, body);
        let job = started;
        const deadline = Date.now() + 180000;
        while (!["done", "failed"].includes(job.state) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 500));
          job = await call("GET", `/api/v1/jobs/${started.job_id}`);
          if (job.result) showTries(job.result.tries);
        }
        const result = job.result || {};
        if (job.state === "failed") {
          $("find-outcome").textContent = "";
          showError(job.error || job.message, "stream-find");
        } else if (result.found_url) {
          $("find-outcome").textContent = t("found_at", { url: result.found_url });
          $("find-outcome").className = "ok";
          $("find-password").value = "";
          if (typed) $("find-url").value = "";  // it holds the password: never left on screen
        } else {
          $("find-outcome").textContent = t("find_none", { why: result.explanation || "" });
          $("find-outcome").className = "warn";
        }
        await act(call("GET", `/api/v1/surveys/${survey.id}`), "stream");
      } catch (err) {
        $("find-outcome").textContent = "";
        if (err.offline) reachable(false);
        else showError(err.message, "stream-find");
      } finally {
        findButton.disabled = false;
        if (typedButton) typedButton.disabled = false;
      }
    };
    findButton.addEventListener("click", () => run({
      host: $("find-host").value.trim(), port: $("find-port").value.trim(),
      user: $("find-user").value, password: $("find-password").value,
      brand: $("find-brand").value }, false));
    if (typedButton) typedButton.addEventListener("click", () => run({ url: $("find-url").value.trim() }, true));
  }

  // -- cameras on the cable (WS-Discovery on the node's wired port) ---------------------
  // Picking one fills its IP, and the maker when its ONVIF scopes name one we know;
  // otherwise ONVIF itself on the port the camera gave.
  const wiredButton = $("wired-discover");
  if (wiredButton) {
    const pick = (camera) => {
      $("find-host").value = camera.ip;
      const brands = Array.from($("find-brand").options).map((o) => o.value);
      if (camera.brand && brands.includes(camera.brand)) {
        $("find-brand").value = camera.brand;
        $("find-port").value = "";
      } else if (brands.includes("onvif")) {
        $("find-brand").value = "onvif";
        $("find-port").value = camera.onvif_port && camera.onvif_port !== 80 ? String(camera.onvif_port) : "";
      }
      $("wired-outcome").textContent = t("wired_picked", { ip: camera.ip });
      $("find-password").focus();
    };
    wiredButton.addEventListener("click", async () => {
      wiredButton.disabled = true;
      $("wired-cameras").replaceChildren();
      $("wired-outcome").textContent = t("wired_running");
      try {
        const found = await call("POST", "/api/v1/wired/discover", {});
        const cameras = found.cameras || [];
        $("wired-outcome").textContent = cameras.length ? t("wired_found", { n: cameras.length }) : t("wired_none");
        $("wired-cameras").replaceChildren(...cameras.map((camera) => {
          const maker = [camera.manufacturer, camera.model].filter(Boolean).join(" ") || t("wired_unknown_maker");
          const button = el("button", { type: "button", class: "btn wired-camera", "data-testid": "wired-camera",
                                        "data-ip": camera.ip },
                                el("span", {}, el("strong", {}, camera.ip), " — ", maker));
          button.addEventListener("click", () => pick(camera));
          return el("li", {}, button);
        }));
      } catch (err) {
        $("wired-outcome").textContent = "";
        if (err.offline) reachable(false);
        else showError(err.message, "stream-find");
      } finally {
        wiredButton.disabled = false;
      }
    });
  }

  // -- checklist, notes, complete ------------------------------------------------------
  document.querySelectorAll(".check-row").forEach((row) => {
    row.querySelectorAll("button").forEach((button) => button.addEventListener("click", () => {
      row.querySelectorAll("button").forEach((b) => b.setAttribute("aria-checked", String(b === button)));
      queue({ checklist: { [row.dataset.key]: button.dataset.value } });
    }));
  });
  let notesTimer;
  $("notes").addEventListener("input", () => {
    clearTimeout(notesTimer);
    const value = $("notes").value;
    // Into storage at once (a reload keeps it), to the node after a short pause.
    localStorage.setItem(pendingKey(), JSON.stringify({ ...pending(), notes: value }));
    notesTimer = setTimeout(flush, 700);
  });
  $("notes").addEventListener("blur", flush);

  $("complete").addEventListener("click", async () => {
    await flush();
    act(call("POST", `/api/v1/surveys/${survey.id}/complete`), "finish").catch(() => {});
  });

  // After completing: the nearest camera still to do, one tap away.
  let nextOffered = false;
  async function offerNextCamera() {
    if (nextOffered) return;
    nextOffered = true;
    const params = new URLSearchParams({ state: "todo", limit: "3" });
    if (survey.lat != null) {
      params.set("lat", survey.lat);
      params.set("lon", survey.lon);
    }
    try {
      const list = await call("GET", `/api/v1/worklist?${params}`);
      const next = list.items.find((i) => i.camera_id !== survey.camera_id);
      if (!next) return;
      const link = $("next-camera");
      link.href = `/survey/${encodeURIComponent(next.camera_id)}`;
      link.textContent = `${t("next_camera", { name: next.site_name || next.camera_id,
        d: next.distance_m != null ? formatDistance(next.distance_m) : "" })} ›`;
      link.hidden = false;
      $("complete").hidden = true;
    } catch {
      nextOffered = false;  // try again at the next render
    }
  }

  // -- start ----------------------------------------------------------------------------
  // The offline shell (secure origins only: https or localhost; see sw.js).
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }
  (async () => {
    if (app.dataset.blocked) {
      // Not this user's camera: the node said why in the page; nothing to start.
      app.querySelectorAll("button, input, textarea, select").forEach((n) => { n.disabled = true; });
      return;
    }
    try {
      // A registry camera: start or resume its survey (taking the lock); a camera reported
      // on site: its survey exists already.
      try {
        survey = app.dataset.survey
          ? await call("GET", `/api/v1/surveys/${app.dataset.survey}`)
          : await call("POST", `/api/v1/cameras/${encodeURIComponent(cameraId)}/survey`);
      } catch (err) {
        // Without the node (the page itself came from the offline shell): the survey as
        // last seen; answers and photos queue in the tablet and go when the node answers.
        const kept = err.offline && localStorage.getItem(`survey-snapshot:${cameraId || app.dataset.survey}`);
        if (!kept) throw err;
        survey = JSON.parse(kept);
        reachable(false);
      }
      render();
      flush();
      sendOutbox();  // photos kept from an earlier visit without the node
    } catch (err) {
      showError(err.message);
      app.querySelectorAll("button, input, textarea").forEach((n) => { n.disabled = true; });
    }
    pollGps();
    setInterval(pollGps, 2000);
  })();
})();
