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

  // Each chart downloadable as SVG and PNG (with its colours written in, so the file looks
  // like the page), each table copyable as tab-separated text to paste into Excel or Word.
  var words = document.getElementById("tool-words");
  var CHART_STYLE = [
    "text{font-family:sans-serif;font-size:13px;fill:#333}",
    ".chart-track{fill:#f2f2f2}.chart-bar{fill:#c9302c}.chart-bar-marked{fill:#237804}",
    ".chart-seg-0{fill:#1d6f42}.chart-seg-1{fill:#6aa84f}.chart-seg-2{fill:#bfbfbf}",
    ".chart-seg-3{fill:#e69138}.chart-seg-4{fill:#c9302c}.chart-seg-5{fill:#674ea7}",
    ".chart-seg-6{fill:#3d85c6}text.chart-seg-text{fill:#fff;font-size:11px}",
    "text.chart-axis{fill:#666;font-size:12px;font-style:italic}"
  ].join("");

  function fileName(text) {
    return (text || "chart").replace(/[\\/:*?"<>|\s]+/g, "_").slice(0, 80);
  }

  function save(blob, name) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    window.setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  function chartSource(svg) {
    var copy = svg.cloneNode(true);
    var box = svg.viewBox.baseVal;
    var style = document.createElementNS("http://www.w3.org/2000/svg", "style");
    style.textContent = CHART_STYLE;
    copy.insertBefore(style, copy.firstChild);
    copy.setAttribute("width", String(box.width));
    copy.setAttribute("height", String(box.height));
    return new XMLSerializer().serializeToString(copy);
  }

  function savePng(svg, name) {
    var box = svg.viewBox.baseVal;
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = box.width * 2;
      canvas.height = box.height * 2;
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) { save(blob, name + ".png"); }, "image/png");
    };
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(chartSource(svg));
  }

  function tool(text, action) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.addEventListener("click", action);
    return button;
  }

  function tableText(table) {
    return Array.prototype.map.call(table.rows, function (row) {
      return Array.prototype.map.call(row.cells, function (cell) {
        return cell.textContent.replace(/\s+/g, " ").trim();
      }).join("\t");
    }).join("\n");
  }

  function copyText(text, button) {
    var done = function () { button.textContent = words.dataset.copied; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
      return;
    }
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    done();
  }

  if (words) {
    document.querySelectorAll(".chart-box").forEach(function (box) {
      var svg = box.querySelector("svg.chart");
      if (!svg) { return; }
      var name = fileName(svg.getAttribute("aria-label"));
      var tools = document.createElement("p");
      tools.className = "chart-tools";
      tools.appendChild(tool(words.dataset.svg, function () {
        save(new Blob([chartSource(svg)], { type: "image/svg+xml" }), name + ".svg");
      }));
      tools.appendChild(tool(words.dataset.png, function () { savePng(svg, name); }));
      box.after(tools);
    });
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var table = wrap.querySelector("table");
      if (!table) { return; }
      var tools = document.createElement("p");
      tools.className = "chart-tools";
      var button = tool(words.dataset.copy, function () { copyText(tableText(table), button); });
      button.setAttribute("data-copy-table", "");
      tools.appendChild(button);
      wrap.after(tools);
    });
  }

  var section = document.getElementById("run");
  var statusLine = section && section.querySelector(".run-status");
  var errorLine = section && section.querySelector("[data-run-error]");

  function showRun(run) {
    statusLine.hidden = false;
    statusLine.querySelector("[data-run-progress]").value = run.progress;
    statusLine.querySelector("[data-run-percent]").textContent = run.progress + "%";
    statusLine.querySelector("[data-run-status]").textContent = run.status_label || run.status;
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
      // Until the API answers, an indeterminate bar says that something is happening; the
      // button waits. Then the bar follows the run's progress (a worker's, or the thread's
      // of an in-process server), and the page reloads when the run ends.
      var button = rerun.querySelector("button[type=submit]");
      button.disabled = true;
      statusLine.hidden = false;
      statusLine.querySelector("[data-run-progress]").removeAttribute("value");
      statusLine.querySelector("[data-run-percent]").textContent = "";
      statusLine.querySelector("[data-run-status]").textContent = rerun.dataset.running;
      api(rerun.dataset.runsUrl, {}).then(function (run) {
        showRun(run);
        if (run.status === "done" || run.status === "failed") { window.location.reload(); return; }
        window.setTimeout(function () { poll(run.url); }, POLL_MS);
      }).catch(function (error) {
        button.disabled = false;
        errorLine.textContent = error.message;
      });
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
