/* Live run status: poll the algorithm's API every 2 s while a run is queued or running, or
   its submission is still being scored (a run follows its submission's final status), and
   update the rows in place (as scoring/live.js does for submissions). */
(function () {
  "use strict";
  var ACTIVE = { queued: true, running: true };
  var SCORING = { queued: true, scoring: true };
  var INTERVAL_MS = 2000;

  function setText(row, role, text) {
    var element = row.querySelector('[data-role="' + role + '"]');
    if (element && element.textContent !== text) element.textContent = text;
    return element;
  }

  function updateRow(row, run) {
    var badge = setText(row, "status", run.status);
    if (badge) badge.className = "badge " + run.status;
    var error = setText(row, "error", run.error || "");
    if (error) error.hidden = !run.error;
    var format = window.platformNumbers.format; // challenge_platform/numbers.js
    setText(row, "seconds", format(run.seconds, 1));
    setText(row, "memory", format(run.peak_memory_mb, 0));
    var log = row.nextElementSibling && row.nextElementSibling.querySelector('[data-role="log"]');
    if (log && log.textContent !== run.log) log.textContent = run.log;
    var cell = row.querySelector('[data-role="submission"]');
    if (cell && run.submission && !cell.querySelector("a")) {
      var link = document.createElement("a");
      link.href = "/submissions/" + run.submission + "/";
      link.textContent = "#" + run.submission;
      cell.appendChild(link);
      cell.appendChild(document.createTextNode(" "));
      var status = document.createElement("span");
      status.dataset.role = "submission-status";
      cell.appendChild(status);
    }
    var submissionStatus = cell && cell.querySelector('[data-role="submission-status"]');
    if (submissionStatus && run.submission_status) {
      submissionStatus.textContent = run.submission_status;
      submissionStatus.className = "badge " + run.submission_status;
    }
  }

  function pending(run) {
    return ACTIVE[run.status] || (run.submission && SCORING[run.submission_status]);
  }

  function watch(table) {
    var url = table.dataset.liveUrl;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body) return schedule();
          var active = false;
          (body.runs || []).forEach(function (run) {
            if (pending(run)) active = true;
            var row = table.querySelector('[data-run-id="' + run.id + '"]');
            if (row) updateRow(row, run);
          });
          if (active) schedule();
        })
        .catch(schedule);
    }
    function schedule() { window.setTimeout(tick, INTERVAL_MS); }
    schedule();
  }

  function init() {
    document.querySelectorAll("table.runs[data-live-url][data-live-pending]").forEach(watch);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
