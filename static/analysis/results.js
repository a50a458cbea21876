/* The analyst results page, progressively enhanced (it works without this file):
   auto-submitting pickers, live progress of the analysis run (polled every 2 s, the page
   reloads when the run finishes), "re-run now" and export jobs through the API with fetch. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var POLL_MS = 2000;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function api(url, body) {
    var options = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrfToken();
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.message || String(response.status)); }
        return data;
      });
    });
  }

  document.querySelectorAll("[data-autosubmit]").forEach(function (field) {
    field.addEventListener("change", function () { field.form.submit(); });
  });
  document.querySelectorAll(".js-show").forEach(function (element) { element.hidden = false; });

  // Find a question: hide the tables whose code and label do not contain the words typed,
  // and the sections left empty; open the sections that still show something.
  var search = document.querySelector("[data-question-search]");
  if (search) {
    search.addEventListener("input", function () {
      var words = search.value.trim().toLowerCase();
      document.querySelectorAll(".section-block").forEach(function (section) {
        var shown = 0;
        section.querySelectorAll("[data-question]").forEach(function (table) {
          var match = !words || table.getAttribute("data-question").toLowerCase().indexOf(words) !== -1;
          table.hidden = !match;
          if (match) { shown += 1; }
        });
        section.hidden = shown === 0;
        if (words && shown) { section.open = true; }
      });
    });
  }

  var section = document.getElementById("run");
  var statusLine = section && section.querySelector(".run-status");
  var errorLine = section && section.querySelector("[data-run-error]");

  function showRun(run) {
    statusLine.hidden = false;
    statusLine.querySelector("[data-run-progress]").value = run.progress;
    statusLine.querySelector("[data-run-percent]").textContent = run.progress + "%";
    statusLine.querySelector("[data-run-status]").textContent = run.status;
  }

  function poll(url) {
    api(url).then(function (run) {
      showRun(run);
      if (run.status === "done" || run.status === "failed") { window.location.reload(); return; }
      window.setTimeout(function () { poll(url); }, POLL_MS);
    }).catch(function (error) { errorLine.textContent = error.message; });
  }

  if (section && section.dataset.statusUrl) { poll(section.dataset.statusUrl); }

  var rerun = section && section.querySelector("form.rerun");
  if (rerun) {
    rerun.addEventListener("submit", function (event) {
      event.preventDefault();
      errorLine.textContent = "";
      api(rerun.dataset.runsUrl, {}).then(function (run) {
        showRun(run);
        if (run.status === "done" || run.status === "failed") { window.location.reload(); return; }
        window.setTimeout(function () { poll(run.url); }, POLL_MS);
      }).catch(function (error) { errorLine.textContent = error.message; });
    });
  }

  var exports = document.querySelector("[data-exports-url]");
  var exportStatus = exports && exports.querySelector("[data-export-status]");

  function followExport(job) {
    if (job.status === "done" && job.download_url) {
      exportStatus.textContent = job.file_name;
      window.location.assign(job.download_url);
      return;
    }
    if (job.status === "failed") {
      exportStatus.textContent = job.error ? job.error.message : job.status;
      return;
    }
    exportStatus.textContent = job.file_name + ": " + job.progress + "%";
    window.setTimeout(function () { api(job.url).then(followExport); }, POLL_MS);
  }

  if (exports) {
    exports.querySelectorAll("[data-export-kind]").forEach(function (button) {
      button.addEventListener("click", function () {
        var body = { kind: button.dataset.exportKind, format: button.dataset.exportFormat,
                     options: { language: document.documentElement.lang } };
        api(exports.dataset.exportsUrl, body).then(followExport)
          .catch(function (error) { exportStatus.textContent = error.message; });
      });
    });
  }
})();
