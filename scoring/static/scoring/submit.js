/* Upload a submission through the API with a progress bar. Without this script the form
   posts to the web view, which works the same way (minus the progress bar). */
(function () {
  "use strict";
  if (window.scoringSubmitReady) return;
  window.scoringSubmitReady = true;

  function setup(form) {
    var progress = form.querySelector(".upload-progress");
    var error = form.querySelector('[data-role="upload-error"]');
    var status = form.querySelector('[data-role="upload-status"]');
    var button = form.querySelector('button[type="submit"]');

    function fail(message) {
      progress.hidden = true;
      button.disabled = false;
      status.textContent = "";
      error.textContent = message;
      error.hidden = false;
    }

    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) return; // plain POST
      event.preventDefault();
      var data = new FormData(form);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.apiUrl);
      xhr.setRequestHeader("X-CSRFToken", data.get("csrfmiddlewaretoken"));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          progress.value = Math.round((100 * e.loaded) / e.total);
          status.textContent = "Uploading… " + progress.value + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        status.textContent = "Uploaded; checking the file…";
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status === 201 && body && body.id) {
          status.textContent = "Received as #" + body.id + "; opening it…";
          window.location.assign(form.dataset.detailUrl.replace("/0/", "/" + body.id + "/"));
          return;
        }
        fail((body && body.detail) || "The upload failed (HTTP " + xhr.status + "). Please try again.");
      });
      xhr.addEventListener("error", function () {
        fail("The upload was interrupted; check your connection and try again.");
      });
      error.hidden = true;
      progress.value = 0;
      progress.hidden = false;
      button.disabled = true;
      xhr.send(data);
    });
  }

  function init() {
    document.querySelectorAll("form.submit-form[data-api-url]").forEach(setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
