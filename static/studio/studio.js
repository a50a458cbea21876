/* The studio, progressively enhanced (every page works without this file):
   the logic designer beside each expression box (question → condition → options or a value,
   appended as the same expression language a person may type), and a live check of the box
   by the server's one rulebook. */
(function () {
  "use strict";
  /* The share page: the poster as a PNG, drawn by the browser (which has the fonts). */
  var poster = document.querySelector("img[data-poster]");
  var posterButton = document.querySelector("[data-poster-png]");
  if (poster && posterButton) {
    posterButton.hidden = false;
    posterButton.addEventListener("click", function () {
      var image = new Image();
      image.onload = function () {
        var canvas = document.createElement("canvas");
        canvas.width = image.naturalWidth || 750;
        canvas.height = image.naturalHeight || 1100;
        canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          var link = document.createElement("a");
          link.href = URL.createObjectURL(blob);
          link.download = poster.dataset.poster + ".png";
          document.body.appendChild(link);
          link.click();
          link.remove();
        }, "image/png");
      };
      image.src = poster.src;
    });
  }
  /* Drag and drop (SortableJS): questions across the outline, options and items in the
     editor. Keyboard users have the ↑ ↓ buttons and the order boxes. */
  if (window.Sortable) {
    var arrange = document.querySelector("form[data-arrange]");
    document.querySelectorAll("ol.outline-questions").forEach(function (list) {
      window.Sortable.create(list, {
        group: "questions",
        handle: ".drag",
        animation: 120,
        forceFallback: true,  // pointer events: the same on phones, tablets and desktops
        onEnd: function (event) {
          if (!arrange || (event.from === event.to && event.oldIndex === event.newIndex)) { return; }
          var layout = {};
          document.querySelectorAll("ol.outline-questions").forEach(function (section) {
            layout[section.dataset.section] = Array.prototype.map.call(
              section.querySelectorAll("li[data-code]"), function (li) { return li.dataset.code; });
          });
          arrange.elements.layout.value = JSON.stringify(layout);
          arrange.elements.moved.value = event.item.dataset.code;
          arrange.submit();
        }
      });
    });
    document.querySelectorAll("table[data-sortable-rows] tbody").forEach(function (body) {
      window.Sortable.create(body, {
        handle: ".drag",
        animation: 120,
        forceFallback: true,
        onEnd: function () {
          body.querySelectorAll("input[name$='-ORDER']").forEach(function (box, index) {
            box.value = index + 1;
          });
        }
      });
    });
  }
  /* Autosave: the question's editor is saved into the draft a moment after the admin stops
     typing (pasted lines wait for the Save button, so that they are added once). */
  var editorForm = document.querySelector("form[data-autosave]");
  var savedLine = document.querySelector("[data-autosave-status]");
  if (editorForm && savedLine && window.fetch && window.FormData) {
    var pending = null;
    var stopped = false;
    var autosave = function () {
      var body = new FormData(editorForm);
      body.set("choices_paste", "");
      body.set("items_paste", "");
      fetch(editorForm.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-Autosave": "1", Accept: "application/json" }
      }).then(function (response) {
        return response.json().then(function (answer) { return [response.status, answer]; });
      }).then(function (result) {
        var answer = result[1];
        savedLine.textContent = answer.message;
        savedLine.className = "autosave " + (answer.saved ? "live-ok" : "live-problem");
        if (answer.saved) {
          document.querySelectorAll("input[name=etag]").forEach(function (box) { box.value = answer.etag; });
          editorForm.action = answer.action;
          var preview = document.querySelector("iframe[data-preview]");
          if (preview && preview.contentWindow) { preview.contentWindow.location.reload(); }
        } else if (result[0] === 409) {
          stopped = true;  // someone else saved: never overwrite, the admin reloads
        }
      }).catch(function () { savedLine.textContent = ""; });
    };
    var schedule = function (event) {
      if (stopped || (event.target && /_paste$/.test(event.target.name || ""))) { return; }
      window.clearTimeout(pending);
      pending = window.setTimeout(autosave, 1200);
    };
    editorForm.addEventListener("input", schedule);
    editorForm.addEventListener("change", schedule);
    editorForm.addEventListener("submit", function () { window.clearTimeout(pending); stopped = true; });
  }
  var data = document.getElementById("logic-questions");
  var words = document.getElementById("logic-words");
  if (!data || !words) { return; }
  var questions = JSON.parse(data.textContent);
  var OPERATORS = {
    single: ["in", "==", "!="],
    multiple: ["has"],
    matrix: ["in", "==", "!=", ">=", "<="],
    number: [">=", "<=", "==", "!=", ">", "<"],
    number_grid: [">=", "<=", "==", "!=", ">", "<"]
  };

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function labelled(text, control) {
    var label = element("label", {}, text + " ");
    label.appendChild(control);
    return label;
  }

  function select(choices, placeholder) {
    var box = element("select");
    if (placeholder) { box.appendChild(element("option", { value: "" }, placeholder)); }
    choices.forEach(function (choice) {
      box.appendChild(element("option", { value: choice[0] }, choice[1]));
    });
    return box;
  }

  function designer(input) {
    var panel = element("details", { "class": "designer" });
    panel.appendChild(element("summary", {}, words.dataset.designer));
    var question = select(questions.map(function (q) {
      return [q.code, q.code + " " + q.label];
    }), words.dataset.choose);
    var item = select([], "");
    var operator = select([], "");
    var values = element("span", { "class": "designer-values" });
    var join = select([["and", words.dataset.and], ["or", words.dataset.or]], "");
    var add = element("button", { type: "button", "class": "button secondary" }, words.dataset.add);
    var itemLabel = labelled(words.dataset.item, item);
    [labelled(words.dataset.question, question), itemLabel,
     labelled(words.dataset.condition, operator), values, join, add].forEach(function (part) {
      panel.appendChild(part);
    });

    function chosen() {
      return questions.filter(function (q) { return q.code === question.value; })[0];
    }

    question.addEventListener("change", function () {
      var q = chosen();
      item.innerHTML = "";
      operator.innerHTML = "";
      values.innerHTML = "";
      if (!q) { return; }
      itemLabel.hidden = !q.items.length;
      q.items.forEach(function (i) { item.appendChild(element("option", { value: i.code }, i.code + " " + i.label)); });
      (OPERATORS[q.type] || []).forEach(function (op) { operator.appendChild(element("option", { value: op }, op)); });
      if (q.type === "number" || q.type === "number_grid") {
        values.appendChild(element("input", { type: "number", step: "any", "aria-label": words.dataset.condition }));
        return;
      }
      q.options.forEach(function (o) {
        var box = element("input", { type: "checkbox", value: o.code });
        var label = element("label", { "class": "designer-option" });
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + o.label));
        values.appendChild(label);
      });
    });

    add.addEventListener("click", function () {
      var q = chosen();
      if (!q) { question.focus(); return; }
      var ref = q.items.length ? q.code + "." + item.value : q.code;
      var op = operator.value;
      var picked = Array.prototype.slice.call(values.querySelectorAll("input:checked")).map(function (box) {
        return /^[0-9]+$/.test(box.value) ? box.value : JSON.stringify(box.value);
      });
      var number = values.querySelector("input[type=number]");
      var condition;
      if (number) {
        if (number.value === "") { number.focus(); return; }
        condition = ref + " " + op + " " + number.value;
      } else {
        if (!picked.length) { return; }
        if (op === "has") {
          condition = picked.map(function (v) { return ref + " has " + v; }).join(" or ");
          if (picked.length > 1) { condition = "(" + condition + ")"; }
        } else if (op === "in" || picked.length > 1) {
          condition = (op === "!=" ? "not " : "") + ref + " in [" + picked.join(", ") + "]";
        } else {
          condition = ref + " " + op + " " + picked[0];
        }
      }
      input.value = input.value.trim() ? input.value.trim() + " " + join.value + " " + condition : condition;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    return panel;
  }

  function checker(input) {
    var line = element("p", { "class": "live-check", role: "status", "aria-live": "polite" });
    var timer = null;
    var url = words.dataset.checkUrl;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var value = input.value.trim();
        if (!value) { line.textContent = ""; line.className = "live-check"; return; }
        var address = url + (url.indexOf("?") < 0 ? "?" : "&") + "e=" + encodeURIComponent(value);
        fetch(address, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.json(); })
          .then(function (answer) {
            line.className = "live-check " + (answer.ok ? "live-ok" : "live-problem");
            line.textContent = answer.ok ? words.dataset.ok : answer.problems.join(" ");
            input.setAttribute("aria-invalid", answer.ok ? "false" : "true");
          });
      }, 350);
    });
    return line;
  }

  document.querySelectorAll("input[data-expression]").forEach(function (input) {
    if (input.disabled || input.closest("fieldset[disabled]")) { return; }
    var line = checker(input);
    input.after(line);
    line.after(designer(input));
  });
})();
