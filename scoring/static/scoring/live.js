/* Live status: poll the submissions API every 2 s and update the badges in place while
   something is queued or being scored. No framework; the page works without it. */
(function () {
  "use strict";
  var PENDING = { queued: true, scoring: true, checking: true };
  var INTERVAL_MS = 2000;

  function setBadge(badge, status) {
    if (!badge || badge.textContent === status) return;
    badge.textContent = status;
    badge.className = "badge " + status;
  }

  function formatScore(value) {
    return window.platformNumbers.format(value, 4); // challenge_platform/numbers.js
  }

  function updateRow(row, item) {
    setBadge(row.querySelector('[data-role="status"]'), item.status);
    var error = row.querySelector('[data-role="error"]');
    if (error) {
      error.textContent = item.error || "";
      error.hidden = item.status !== "failed";
    }
    var score = row.querySelector('[data-role="score"]');
    var metric = row.dataset.primaryMetric;
    if (score && item.scores && item.scores.public && metric in item.scores.public) {
      score.textContent = formatScore(item.scores.public[metric]);
    }
  }

  function watch(element) {
    var url = element.dataset.liveUrl;
    var reload = element.dataset.liveReload === "1";

    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body) return schedule();
          var items = body.results || [body];
          var pending = false;
          items.forEach(function (item) {
            if (PENDING[item.status]) pending = true;
            if (reload) {
              setBadge(element.querySelector('[data-role="status"]'), item.status);
              if (!PENDING[item.status]) window.location.reload();
              return;
            }
            var row = element.querySelector('[data-submission-id="' + item.id + '"]');
            if (row) updateRow(row, item);
          });
          if (pending) schedule();
        })
        .catch(schedule);
    }

    function schedule() {
      window.setTimeout(tick, INTERVAL_MS);
    }
    schedule();
  }

  function init() {
    document.querySelectorAll("[data-live-url][data-live-pending]").forEach(watch);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
