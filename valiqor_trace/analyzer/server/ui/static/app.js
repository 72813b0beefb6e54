// valiqor web UI: the few interactive parts (no inline script: the pages' Content-Security-Policy forbids it).
// Everything this script puts in a page is either server-rendered (escaped) HTML or set as text.
"use strict";

(function () {
  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // -- trace page: open a span's detail, fold subtrees, run FA ---------------------------------------------
  function selectSpan(spanId, push) {
    const pane = document.getElementById("detail");
    if (!pane) return;
    const traceId = pane.dataset.traceId;
    document.querySelectorAll(".wf-row.selected").forEach(function (r) { r.classList.remove("selected"); });
    const row = document.getElementById("span-" + spanId);
    if (row) { revealRow(row); row.classList.add("selected"); }
    fetch("/traces/" + encodeURIComponent(traceId) + "/spans/" + encodeURIComponent(spanId),
          {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (resp) { return resp.text().then(function (html) { return [resp.ok, html]; }); })
      .then(function (pair) {
        pane.innerHTML = pair[1]; // server-rendered by Jinja2 with autoescaping: trace text arrives escaped
        if (push) {
          const url = new URL(window.location.href);
          url.searchParams.set("span", spanId);
          url.hash = "span-" + spanId;
          history.replaceState(null, "", url.toString());
        }
      });
  }

  function depthOf(row) { return parseInt(row.dataset.depth, 10); }

  function setOpen(row, open) {
    const button = row.querySelector(".toggle");
    row.classList.toggle("collapsed", !open);
    if (button) { button.setAttribute("aria-expanded", open ? "true" : "false"); button.textContent = open ? "▾" : "▸"; }
    const depth = depthOf(row);
    let hideBelow = null;
    for (let next = row.nextElementSibling; next && depthOf(next) > depth; next = next.nextElementSibling) {
      const d = depthOf(next);
      if (hideBelow !== null && d <= hideBelow) hideBelow = null;
      next.hidden = !open || hideBelow !== null;
      if (open && hideBelow === null && next.classList.contains("collapsed")) hideBelow = d;
    }
  }

  function revealRow(row) {
    // open every collapsed ancestor of a row (walk back to shallower rows)
    let depth = depthOf(row);
    for (let prev = row.previousElementSibling; prev && depth > 0; prev = prev.previousElementSibling) {
      if (!prev.classList.contains("wf-row")) continue;
      const d = depthOf(prev);
      if (d < depth) { if (prev.classList.contains("collapsed")) setOpen(prev, true); depth = d; }
    }
    row.hidden = false;
  }

  function wireWaterfall() {
    const waterfall = document.getElementById("waterfall");
    if (!waterfall) return;
    waterfall.addEventListener("click", function (event) {
      const toggle = event.target.closest(".toggle");
      if (toggle) { const row = toggle.closest(".wf-row"); setOpen(row, row.classList.contains("collapsed")); return; }
      const link = event.target.closest(".span-link");
      if (link) { event.preventDefault(); selectSpan(link.dataset.span, true); return; }
      const row = event.target.closest(".wf-row");
      if (row) selectSpan(row.dataset.span, true);
    });
    document.querySelectorAll(".fa-result .evidence-link").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        selectSpan(link.dataset.span, true);
        const row = document.getElementById("span-" + link.dataset.span);
        if (row) row.scrollIntoView({block: "center"});
      });
    });
    const selected = document.querySelector(".wf-row.selected");
    if (selected) selected.scrollIntoView({block: "center"});
  }

  function wireAnalyze() {
    const button = document.getElementById("analyze");
    if (!button) return;
    const status = document.getElementById("analyze-status");
    const traceId = button.dataset.traceId;
    function show(text) { status.textContent = text; }
    function open(runId) { window.location.assign("/traces/" + traceId + "?run=" + encodeURIComponent(runId) + "#fa-result"); }
    function failed(resp) {
      return resp.json().then(function (body) {
        show("Analysis failed: " + ((body && body.error && body.error.message) || resp.status));
      }, function () { show("Analysis failed: HTTP " + resp.status); }).then(function () { button.disabled = false; });
    }
    function poll(runId) {
      fetch("/api/v1/fa/runs/" + encodeURIComponent(runId), {credentials: "same-origin"})
        .then(function (resp) { return resp.ok ? resp.json() : Promise.reject(resp); })
        .then(function (st) {
          if (st.status === "running") { show("Analyzing… " + Math.round(st.progress_percent) + "%"); setTimeout(function () { poll(runId); }, 500); }
          else if (st.status === "completed" || st.status === "cancelled") open(runId);
          else { show("Analysis failed: " + (st.error || st.status)); button.disabled = false; }
        }, failed);
    }
    button.addEventListener("click", function () {
      button.disabled = true;
      show("Analyzing…");
      fetch("/api/v1/fa/runs", {method: "POST", credentials: "same-origin",
                                headers: {"Content-Type": "application/json"},
                                body: JSON.stringify({trace_id: traceId, wait_s: 30})})
        .then(function (resp) {
          if (resp.status === 200) return resp.json().then(function (result) { open(result.run_id); });
          if (resp.status === 202) return resp.json().then(function (accepted) { poll(accepted.run_id); });
          return failed(resp);
        }, function () { show("Analysis failed: the server did not answer"); button.disabled = false; });
    });
  }

  // -- monitoring page: charts (uPlot, shipped as a static file) -------------------------------------------
  const PALETTE = ["#d1495b", "#edae49", "#00798c", "#30638e", "#8f2d56", "#66a182", "#6d597a", "#b56576"];

  function drawCharts() {
    const holder = document.getElementById("chart-data");
    if (!holder || typeof uPlot === "undefined") return;
    const data = JSON.parse(holder.textContent);
    const xs = data.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
    function chart(id, series, values, bars) {
      const el = document.getElementById(id);
      if (!el) return;
      const width = Math.max(300, el.clientWidth || 600);
      const opts = {width: width, height: 220, series: [{}].concat(series.map(function (s, i) {
        const color = s.color || PALETTE[i % PALETTE.length];
        const spec = {label: s.label, stroke: color, width: 2, fill: bars ? color + "55" : undefined};
        if (bars) spec.paths = uPlot.paths.bars({size: [0.6, 40]});
        return spec;
      })), axes: [{}, {}], scales: {x: {time: true}}};
      el.textContent = "";
      new uPlot(opts, [xs].concat(values), el);
      el.dataset.drawn = "true";
    }
    const buckets = Object.keys(data.buckets);
    chart("chart-buckets", buckets.length ? buckets.map(function (b) { return {label: b}; }) : [{label: "failures"}],
          buckets.length ? buckets.map(function (b) { return data.buckets[b]; }) : [data.days.map(function () { return 0; })], true);
    chart("chart-severity", [{label: "average severity", color: "#d1495b"}], [data.severity], false);
    chart("chart-alerts", [{label: "sent", color: "#30638e"}, {label: "suppressed", color: "#edae49"},
                           {label: "failed", color: "#d1495b"}],
          [data.alerts_sent, data.alerts_suppressed, data.alerts_failed], true);
  }

  onReady(function () { wireWaterfall(); wireAnalyze(); drawCharts(); });
})();
