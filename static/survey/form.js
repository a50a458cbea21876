/* Wenji respondent form: progressive enhancement of a page that works without it.
 *
 * - one section per screen, progress, next/back that check the section's required answers;
 * - show_if applied live, with the server's semantics (see survey/form_logic.py,
 *   expression_to_json, and survey/expressions.py, evaluate): hidden questions are hidden
 *   and their inputs disabled, so they are not sent;
 * - max choices and exclusive options enforced as the respondent taps;
 * - a draft kept in localStorage (per questionnaire) and restored after a reload;
 * - one submission per submission_id: the button is disabled after the first tap, and a page
 *   brought back from the back/forward cache after sending reloads itself.
 * No framework, no network calls of its own, ES5 so that old in-app browsers run it.
 */
(function () {
  "use strict";

  var INT_CODE = /^(0|-?[1-9][0-9]*)$/;
  var NUMBER_TEXT = /^[+-]?[0-9]+(?:[.,][0-9]+)?$/;
  var NUMBER_PLACES = 6;
  var NUMBER_DIGITS = 14; // |x| < 1e14, as the server's NUMBER_LIMIT
  var MISSING = {};
  var FLIP = { "==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };
  var DRAFT_DAYS = 30;

  // --- values and the show_if evaluator ---------------------------------------------------

  /* One answered value, typed as the server's normalised answers are: "int" (an integer
   * option code or a whole number), "dec" (a number with a fraction, as decimal text) or
   * "str" (a text option code or a text answer). */
  function V(kind, text) {
    this.k = kind;
    this.s = text;
  }

  function isV(x) {
    return x instanceof V;
  }

  function codeValue(text) {
    return new V(INT_CODE.test(text) ? "int" : "str", text);
  }

  function codeOf(v) {
    return isV(v) && (v.k === "int" || v.k === "str") ? v.s : null;
  }

  function numOf(v) {
    return isV(v) && (v.k === "int" || v.k === "dec") ? v.s : null;
  }

  function splitDec(text) {
    var negative = text.charAt(0) === "-";
    if (negative || text.charAt(0) === "+") text = text.slice(1);
    var dot = text.indexOf(".");
    var whole = (dot < 0 ? text : text.slice(0, dot)).replace(/^0+/, "");
    var fraction = (dot < 0 ? "" : text.slice(dot + 1)).replace(/0+$/, "");
    return { neg: negative && (whole !== "" || fraction !== ""), whole: whole, fraction: fraction };
  }

  /* Exact comparison of two decimal texts: -1, 0 or 1. */
  function cmpDec(a, b) {
    var x = splitDec(a), y = splitDec(b), result;
    if (x.neg !== y.neg) return x.neg ? -1 : 1;
    if (x.whole.length !== y.whole.length) {
      result = x.whole.length < y.whole.length ? -1 : 1;
    } else if (x.whole !== y.whole) {
      result = x.whole < y.whole ? -1 : 1;
    } else {
      var width = Math.max(x.fraction.length, y.fraction.length);
      var p = pad(x.fraction, width), q = pad(y.fraction, width);
      result = p === q ? 0 : p < q ? -1 : 1;
    }
    return x.neg ? -result : result;
  }

  function pad(text, width) {
    while (text.length < width) text += "0";
    return text;
  }

  function equal(a, b) {
    var x = numOf(a), y = numOf(b);
    if (x !== null && y !== null) return cmpDec(x, y) === 0;
    var c = codeOf(a);
    return c !== null && c === codeOf(b);
  }

  function ordinal(v) {
    var n = numOf(v);
    if (n === null && isV(v) && v.k === "str" && INT_CODE.test(v.s)) return v.s;
    return n;
  }

  function holds(value, op, bound) {
    if (op === "==" || op === "!=") return equal(value, bound) === (op === "==");
    var left = ordinal(value), right = ordinal(bound);
    if (left === null || right === null) return false;
    var c = cmpDec(left, right);
    if (op === "<") return c < 0;
    if (op === "<=") return c <= 0;
    if (op === ">") return c > 0;
    if (op === ">=") return c >= 0;
    return false;
  }

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  function lookup(answers, ref) {
    var value = has(answers, ref[1]) ? answers[ref[1]] : MISSING;
    if (ref[2] === null || ref[2] === undefined) return value;
    if (value === MISSING || value === null || typeof value !== "object" || isV(value) ||
        Array.isArray(value)) {
      return MISSING;
    }
    return has(value, ref[2]) ? value[ref[2]] : MISSING;
  }

  function literal(node) {
    return new V(node[0], node[1]);
  }

  function compare(node, answers) {
    var op = node[1], left = node[2], right = node[3], ref, other;
    if (left[0] === "list" || (right[0] === "list") !== (op === "in")) return false;
    if (left[0] === "ref") {
      ref = left;
      other = right;
    } else if (right[0] === "ref" && has(FLIP, op)) {
      ref = right;
      other = left;
      op = FLIP[op];
    } else {
      return false;
    }
    var raw = lookup(answers, ref);
    if (op === "has") {
      if (other[0] === "ref" || other[0] === "list" || !Array.isArray(raw)) return false;
      var code = codeOf(literal(other));
      return code !== null && raw.some(function (chosen) { return codeOf(chosen) === code; });
    }
    var value = isV(raw) ? raw : MISSING;
    if (value === MISSING) return false;
    if (other[0] === "list") {
      return other[1].some(function (item) { return equal(value, literal(item)); });
    }
    var bound = other[0] === "ref" ? lookup(answers, other) : literal(other);
    if (!isV(bound)) return false;
    return holds(value, op, bound);
  }

  /* Whether the JSON expression holds on the answers (code → V, [V], or {item: V}). */
  function evaluate(expr, answers) {
    var kind = expr[0], i;
    if (kind === "and") {
      for (i = 1; i < expr.length; i++) if (!evaluate(expr[i], answers)) return false;
      return true;
    }
    if (kind === "or") {
      for (i = 1; i < expr.length; i++) if (evaluate(expr[i], answers)) return true;
      return false;
    }
    if (kind === "not") return !evaluate(expr[1], answers);
    if (kind === "cmp") return compare(expr, answers);
    return false;
  }

  /* Answers in their JSON shape (as the API takes them), typed for evaluate(). */
  function fromJson(value) {
    if (typeof value === "number") {
      return Number.isInteger(value) ? new V("int", String(value)) : new V("dec", String(value));
    }
    if (typeof value === "string") return new V("str", value);
    if (Array.isArray(value)) return value.map(fromJson);
    if (value && typeof value === "object") {
      var result = {};
      Object.keys(value).forEach(function (key) {
        if (value[key] !== null) result[key] = fromJson(value[key]);
      });
      return result;
    }
    return MISSING;
  }

  window.WenjiLogic = { evaluate: evaluate, fromJson: fromJson, cmpDec: cmpDec };

  // --- storage (private modes and full disks throw: the form works without it) ------------

  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* no storage: no draft */ }
  }

  function load(key) {
    try {
      var text = window.localStorage.getItem(key);
      return text ? JSON.parse(text) : null;
    } catch (e) {
      return null;
    }
  }

  function draftKey(slug) {
    return "wenji:draft:" + slug;
  }

  var SENT_KEY = "wenji:sent";

  function wasSent(id) {
    var sent = load(SENT_KEY);
    return Array.isArray(sent) && sent.indexOf(id) >= 0;
  }

  function markSent(id, yes) {
    var sent = load(SENT_KEY);
    sent = Array.isArray(sent) ? sent.filter(function (x) { return x !== id; }) : [];
    if (yes) sent.push(id);
    store(SENT_KEY, sent.slice(-20));
  }

  // --- the page -------------------------------------------------------------------------------

  var body = document.body;
  var pageKind = body.getAttribute("data-page");
  if (pageKind === "thanks" || pageKind === "already") {
    store(draftKey(body.getAttribute("data-slug")), null);
    thanksPage();
    return;
  }

  // The thank-you page: pass the survey on (the system's share sheet, else copy the link),
  // and go on to the questionnaire's next page after a countdown the reader can stop.
  function thanksPage() {
    var share = document.getElementById("wf-share");
    var status = document.getElementById("wf-share-status");
    if (share) {
      share.hidden = false;
      share.addEventListener("click", function () {
        var link = share.getAttribute("data-link");
        if (navigator.share) {
          navigator.share({ title: share.getAttribute("data-title"), url: link }).catch(function () {});
          return;
        }
        var field = document.getElementById("wf-share-link");
        field.select();
        var done = function () { status.textContent = share.getAttribute("data-copied"); };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(link).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    }
    var next = document.getElementById("wf-next");
    if (!next) return;
    var left = parseInt(next.getAttribute("data-seconds"), 10) || 5;
    var count = document.getElementById("wf-next-count");
    var stay = document.getElementById("wf-next-stay");
    var text = next.getAttribute("data-counting");
    count.textContent = text.replace("{n}", left);
    stay.hidden = false;
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        window.location.assign(next.getAttribute("data-href"));
        return;
      }
      count.textContent = text.replace("{n}", left);
    }, 1000);
    stay.addEventListener("click", function () {
      clearInterval(timer);
      count.textContent = "";
      stay.hidden = true;
    });
  }
  var form = document.getElementById("wf");
  var configNode = document.getElementById("wf-config");
  if (!form || !configNode) return;
  var config = JSON.parse(configNode.textContent);
  var messages = config.messages;
  document.documentElement.className += " js";

  function fill(template, n, max) {
    return template.replace("{n}", n).replace("{max}", max);
  }

  function all(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  var questions = all(form, ".q").map(function (el) {
    var section = el.parentNode;
    while (section && !section.hasAttribute("data-section")) section = section.parentNode;
    return {
      el: el,
      code: el.getAttribute("data-q"),
      type: el.getAttribute("data-type"),
      required: el.hasAttribute("data-required"),
      min: parseInt(el.getAttribute("data-min") || "0", 10),
      max: parseInt(el.getAttribute("data-max") || "0", 10),
      integer: el.getAttribute("data-int") !== "0",
      vmin: el.getAttribute("data-vmin") || "",
      vmax: el.getAttribute("data-vmax") || "",
      maxLength: parseInt(el.getAttribute("data-maxlength") || "0", 10),
      section: section,
      number: (el.querySelector(".qn") || { textContent: "" }).textContent.replace(".", ""),
      visible: true
    };
  });
  var sections = all(form, ".sec");
  var summary = document.getElementById("error-summary");
  var submit = document.getElementById("wf-submit");
  var send = document.getElementById("wf-send");
  var startToken = form.elements.start_token;
  var submissionField = form.elements.submission_id;

  // --- reading answers as the server normalises them ----------------------------------------

  /* A number box: null when empty, false when not a valid answer, else a V. */
  function readNumber(q, raw) {
    var text = raw.normalize ? raw.normalize("NFKC").trim() : raw.trim();
    if (text === "") return null;
    if (!NUMBER_TEXT.test(text)) return false;
    var parts = splitDec(text.replace(",", "."));
    if (parts.fraction.length > NUMBER_PLACES || parts.whole.length > NUMBER_DIGITS) return false;
    if (q.integer && parts.fraction !== "") return false;
    var value = (parts.neg ? "-" : "") + (parts.whole || "0") +
      (parts.fraction ? "." + parts.fraction : "");
    if (q.vmin !== "" && cmpDec(value, q.vmin) < 0) return false;
    if (q.vmax !== "" && cmpDec(value, q.vmax) > 0) return false;
    return new V(parts.fraction ? "dec" : "int", value);
  }

  function checkedIn(root) {
    return all(root, "input:checked").map(function (input) { return input.value; });
  }

  function cleanText(raw) {
    return (raw.normalize ? raw.normalize("NFC") : raw).trim();
  }

  function codePoints(text) {
    return Array.from ? Array.from(text).length : text.length;
  }

  /* The question's answer as the server would keep it, or null when it would not. */
  function readAnswer(q) {
    var chosen, cells, missing, failed;
    if (q.type === "single") {
      chosen = checkedIn(q.el);
      return chosen.length ? codeValue(chosen[0]) : null;
    }
    if (q.type === "multiple") {
      chosen = all(q.el, "input[type=checkbox]:checked");
      if (!chosen.length || (q.max && chosen.length > q.max) || (q.min && chosen.length < q.min)) {
        return null;
      }
      if (chosen.length > 1 && chosen.some(function (i) { return i.hasAttribute("data-exclusive"); })) {
        return null;
      }
      return chosen.map(function (input) { return codeValue(input.value); });
    }
    if (q.type === "matrix" || q.type === "number_grid") {
      cells = {};
      missing = false;
      failed = false;
      all(q.el, "[data-item]").forEach(function (item) {
        var value = null;
        if (q.type === "matrix") {
          var picked = checkedIn(item);
          value = picked.length ? codeValue(picked[0]) : null;
        } else {
          value = readNumber(q, item.querySelector("input").value);
        }
        if (value === false) failed = true;
        else if (value === null) missing = true;
        else cells[item.getAttribute("data-item")] = value;
      });
      if (failed || (q.required && missing) || !Object.keys(cells).length) return null;
      return cells;
    }
    var field = q.el.querySelector("input, textarea");
    if (q.type === "number") {
      var number = readNumber(q, field.value);
      return number ? number : null;
    }
    var text = cleanText(field.value);
    if (text === "" || codePoints(text) > q.maxLength) return null;
    return new V("str", text);
  }

  // --- applying show_if, limits and "other" boxes -----------------------------------------

  function setDisabled(input, disabled) {
    if (input.disabled !== disabled) input.disabled = disabled;
  }

  var answeredCount = 0, visibleCount = 0;

  function refresh() {
    var seen = {};
    answeredCount = 0;
    visibleCount = 0;
    questions.forEach(function (q) {
      var rule = config.showIf[q.code];
      q.visible = !rule || evaluate(rule, seen);
      q.el.hidden = !q.visible;
      all(q.el, "input, textarea").forEach(function (input) { setDisabled(input, !q.visible); });
      if (!q.visible) return;
      visibleCount += 1; // progress counts the questions asked: skipped ones are not
      if (q.type === "multiple" && q.max) applyLimit(q);
      var answer = readAnswer(q);
      if (answer !== null) {
        seen[q.code] = answer;
        answeredCount += 1;
      }
    });
    all(form, "input[data-other]").forEach(function (option) {
      var box = form.querySelector('[data-other-box="' + option.getAttribute("data-other") + '"]');
      var shown = option.checked && !option.disabled;
      box.hidden = !shown;
      setDisabled(box.querySelector("input"), !shown);
    });
    updatePager();
  }

  function applyLimit(q) {
    var boxes = all(q.el, "input[type=checkbox]");
    var count = boxes.filter(function (b) { return b.checked; }).length;
    var full = count >= q.max;
    boxes.forEach(function (box) { if (!box.checked) setDisabled(box, full); });
    var note = q.el.querySelector(".limit");
    var text = full ? fill(messages.maxChosen, q.max) : "";
    if (note && note.textContent !== text) note.textContent = text;
  }

  function onToggle(input) {
    if (input.type !== "checkbox" || !input.checked) return;
    var q = questionOf(input);
    var exclusive = input.hasAttribute("data-exclusive");
    all(q.el, "input[type=checkbox]:checked").forEach(function (other) {
      if (other !== input && (exclusive || other.hasAttribute("data-exclusive"))) {
        other.checked = false;
      }
    });
  }

  function questionOf(element) {
    for (var i = 0; i < questions.length; i++) {
      if (questions[i].el.contains(element)) return questions[i];
    }
    return null;
  }

  function updateCounter(textarea) {
    var q = questionOf(textarea);
    var counter = q && q.el.querySelector(".counter");
    if (!counter) return;
    counter.hidden = false;
    counter.textContent = fill(messages.counter, codePoints(cleanText(textarea.value)), q.maxLength);
  }

  // --- checking a section before moving on -------------------------------------------------

  function showErrors(node, list) {
    if (!node) return;
    node.textContent = "";
    list.forEach(function (text) {
      var line = document.createElement("span");
      line.textContent = text;
      node.appendChild(line);
    });
    node.hidden = !list.length;
  }

  function numberProblem(q, raw) {
    var value = readNumber(q, raw);
    if (value !== false) return null;
    var text = raw.normalize ? raw.normalize("NFKC").trim() : raw.trim();
    if (!NUMBER_TEXT.test(text)) return messages.number;
    var parts = splitDec(text.replace(",", "."));
    if (q.integer && parts.fraction !== "") return messages.whole;
    var plain = (parts.neg ? "-" : "") + (parts.whole || "0") + (parts.fraction ? "." + parts.fraction : "");
    if (q.vmin !== "" && cmpDec(plain, q.vmin) < 0) return fill(messages.atLeast, q.vmin);
    if (q.vmax !== "" && cmpDec(plain, q.vmax) > 0) return fill(messages.atMost, q.vmax);
    return messages.number;
  }

  /* The question's problems, shown beside it; returns summary lines [{href, text}]. */
  function check(q) {
    var lines = [], own = [];
    var label = fill(messages.question, q.number);
    function add(href, text) { lines.push({ href: href, text: fill(messages.line, label, text) }); }
    if (q.type === "matrix" || q.type === "number_grid") {
      all(q.el, "[data-item]").forEach(function (item, index) {
        var problems = [];
        var name = item.querySelector(q.type === "matrix" ? "legend" : "label");
        var missing = fill(messages.itemRequired, index + 1, name ? name.textContent.trim() : "");
        if (q.type === "matrix") {
          if (q.required && !checkedIn(item).length) problems.push(missing);
        } else {
          var raw = item.querySelector("input").value;
          var problem = numberProblem(q, raw);
          if (problem) problems.push(problem);
          else if (q.required && raw.trim() === "") problems.push(missing);
        }
        var node = item.querySelector(".err");
        showErrors(node, problems);
        item.classList.toggle("has-error", problems.length > 0);
        problems.forEach(function (text) { add("#" + (item.id || q.el.id), text); });
      });
    } else if (q.type === "number") {
      var raw = q.el.querySelector("input").value;
      var problem = numberProblem(q, raw);
      if (problem) own.push(problem);
      else if (q.required && raw.trim() === "") own.push(messages.required);
    } else if (q.type === "text") {
      var text = cleanText(q.el.querySelector("textarea").value);
      if (codePoints(text) > q.maxLength) {
        own.push(fill(messages.tooLong, codePoints(text), q.maxLength));
      } else if (q.required && text === "") {
        own.push(messages.required);
      }
    } else if (q.required && !checkedIn(q.el).length) {
      own.push(messages.required);
    }
    // a chosen "other" needs its text, said beside its box (the server says the same)
    all(q.el, "input[data-other]").forEach(function (option) {
      var box = document.getElementById(option.getAttribute("data-other"));
      if (!box) return;
      var words = option.parentNode.querySelector("span");
      var problems = option.checked && cleanText(box.value) === ""
        ? [fill(messages.otherRequired, words ? words.textContent.trim() : "", "")] : [];
      var holder = box.parentNode;
      showErrors(holder.querySelector(".err"), problems);
      holder.classList.toggle("has-error", problems.length > 0);
      problems.forEach(function (text) { add("#" + box.id, text); });
    });
    var node = q.el.querySelector(".err");
    showErrors(node, own);
    own.forEach(function (text) { add("#" + q.el.id, text); });
    q.el.classList.toggle("has-error", lines.length > 0);
    return lines;
  }

  function showSummary(lines) {
    var list = summary.querySelector("ul");
    list.textContent = "";
    lines.forEach(function (line) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = line.href;
      link.textContent = line.text;
      item.appendChild(link);
      list.appendChild(item);
    });
    summary.hidden = !lines.length;
    if (lines.length) summary.focus();
  }

  function checkSections(list) {
    var lines = [];
    questions.forEach(function (q) {
      if (q.visible && list.indexOf(q.section) >= 0) lines = lines.concat(check(q));
    });
    return lines;
  }

  // --- paging ---------------------------------------------------------------------------------

  var current = 0;

  function activeSections() {
    return sections.filter(function (section) {
      return questions.some(function (q) { return q.section === section && q.visible; });
    });
  }

  function updatePager() {
    var active = activeSections();
    var index = active.indexOf(sections[current]);
    if (index < 0) return;
    sections.forEach(function (section) {
      var isCurrent = section === sections[current];
      section.classList.toggle("current", isCurrent);
      var pager = section.querySelector(".pager");
      pager.hidden = false;
      var back = pager.querySelector('[data-go="back"]');
      var next = pager.querySelector('[data-go="next"]');
      if (back) back.hidden = index === 0;
      if (next) next.hidden = index === active.length - 1;
    });
    send.hidden = index !== active.length - 1;
    var bar = document.getElementById("wf-progress-bar");
    bar.max = Math.max(visibleCount, 1);
    bar.value = answeredCount;
    document.getElementById("wf-progress-text").textContent =
      fill(messages.progress, answeredCount, visibleCount);
    document.getElementById("wf-progress").hidden = visibleCount < 2;
  }

  function go(section, focusHeading) {
    current = Math.max(0, sections.indexOf(section));
    updatePager();
    if (!focusHeading) return;
    var progress = document.getElementById("wf-progress");
    var anchor = progress.hidden ? section : progress;
    window.scrollTo(0, Math.max(0, anchor.getBoundingClientRect().top + window.pageYOffset - 8));
    var heading = section.querySelector("h2");
    if (heading) heading.focus({ preventScroll: true });
  }

  // A respondent whose answers fall in a full quota cell is told so at once, not at the end.
  function inFullQuota() {
    return (config.quotaFull || []).some(function (cell) {
      return Object.keys(cell).every(function (code) {
        var chosen = form.querySelector('input[name="' + code + '"]:checked');
        return chosen !== null && chosen.value === cell[code];
      });
    });
  }

  function move(step) {
    var active = activeSections();
    var index = active.indexOf(sections[current]);
    if (step > 0) {
      var lines = checkSections([sections[current]]);
      showSummary(lines);
      if (lines.length) return;
      if (inFullQuota()) {
        store(draftKey(config.slug), null);
        window.location.assign(config.quotaFullUrl);
        return;
      }
    } else {
      showSummary([]);
    }
    var target = active[index + step];
    if (target) go(target, true);
  }

  function sectionOf(element) {
    for (var i = 0; i < sections.length; i++) if (sections[i].contains(element)) return sections[i];
    return null;
  }

  function reveal(hash) {
    var target = hash && hash.length > 1 ? document.getElementById(hash.slice(1)) : null;
    var section = target && sectionOf(target);
    if (!section) return false;
    go(section, false);
    var field = target.matches && target.matches("input, textarea") ? target :
      target.querySelector("input:not([disabled]), textarea:not([disabled])");
    target.scrollIntoView();
    if (field) field.focus();
    return true;
  }

  // --- drafts ---------------------------------------------------------------------------------

  var saveTimer = null;

  function fields() {
    return all(form, "input, textarea").filter(function (input) {
      return input.name && input.type !== "hidden" && input.name !== "csrfmiddlewaretoken";
    });
  }

  function saveDraft() {
    saveTimer = null;
    var values = [];
    fields().forEach(function (input) {
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) values.push([input.name, input.value]);
      } else if (input.value !== "") {
        values.push([input.name, input.value]);
      }
    });
    store(draftKey(config.slug), {
      saved: Date.now(),
      token: startToken.value,
      id: submissionField.value,
      section: sections[current] ? sections[current].id : "",
      values: values
    });
  }

  function scheduleSave() {
    if (saveTimer) window.clearTimeout(saveTimer);
    saveTimer = window.setTimeout(saveDraft, 250);
  }

  /* Put a saved draft back into the form; returns the section it was on, or null. */
  function restoreDraft() {
    var draft = load(draftKey(config.slug));
    if (!draft || !Array.isArray(draft.values) || !draft.values.length) return null;
    if (Date.now() - draft.saved > DRAFT_DAYS * 864e5) {
      store(draftKey(config.slug), null);
      return null;
    }
    fields().forEach(function (input) {
      var matches = draft.values.filter(function (pair) { return pair[0] === input.name; });
      if (input.type === "radio" || input.type === "checkbox") {
        input.checked = matches.some(function (pair) { return pair[1] === input.value; });
      } else {
        input.value = matches.length ? matches[0][1] : "";
      }
    });
    if (draft.token && draft.id && !wasSent(draft.id)) {
      // Keep the first visit's start time and submission id: a reload is the same attempt.
      startToken.value = draft.token;
      submissionField.value = draft.id;
    }
    return document.getElementById(draft.section) || sections[0];
  }

  // --- sending --------------------------------------------------------------------------------

  var sending = false;

  function onSubmit(event) {
    if (sending) {
      event.preventDefault();
      return;
    }
    var lines = checkSections(activeSections());
    if (lines.length) {
      event.preventDefault();
      var first = document.querySelector(lines[0].href);
      if (first && sectionOf(first)) go(sectionOf(first), false);
      showSummary(lines);
      return;
    }
    sending = true;
    markSent(submissionField.value, true);
    if (saveTimer) saveDraft();
    window.setTimeout(function () {
      submit.disabled = true;
      submit.textContent = messages.sending;
    }, 0);
  }

  // --- WeChat share card (only when the server configured it and the SDK loaded) -------------

  function setUpShareCard() {
    var wechat = config.wechat, wx = window.wx;
    if (window.location.hash === "#wechat_redirect" && window.history.replaceState) {
      // Left over from the OAuth round trip (browsers keep a fragment across redirects).
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    if (!wechat || !wx || !wx.config) return;
    var share = wechat.share;
    var settings = { debug: false };
    Object.keys(wechat.config).forEach(function (key) { settings[key] = wechat.config[key]; });
    wx.config(settings);
    wx.ready(function () {
      wx.updateAppMessageShareData({
        title: share.title, desc: share.desc, link: share.link, imgUrl: share.imgUrl
      });
      wx.updateTimelineShareData({ title: share.title, link: share.link, imgUrl: share.imgUrl });
    });
    wx.error(function () { /* no share card; the page works the same */ });
  }

  // --- start ----------------------------------------------------------------------------------

  function start() {
    // A browser that restores form fields on back/forward may bring back the old ids.
    startToken.value = config.startToken;
    submissionField.value = config.submissionId;
    var restored = null;
    if (config.bound) {
      markSent(config.submissionId, false); // the server showed it again: nothing stored
    } else {
      restored = restoreDraft();
    }
    refresh();
    all(form, "textarea").forEach(function (textarea) {
      if (textarea.value) updateCounter(textarea);
    });
    var note = document.getElementById("wf-restored");
    if (restored) note.hidden = false;
    document.getElementById("wf-clear").addEventListener("click", function () {
      if (!window.confirm(messages.confirmStartOver)) return;
      store(draftKey(config.slug), null);
      fields().forEach(function (input) {
        if (input.type === "radio" || input.type === "checkbox") input.checked = false;
        else input.value = "";
      });
      note.hidden = true;
      refresh();
      go(activeSections()[0] || sections[0], true);
    });
    var firstError = form.querySelector(".has-error");
    var opening = firstError ? sectionOf(firstError) : restored;
    if (!opening || activeSections().indexOf(opening) < 0) opening = activeSections()[0];
    go(opening || sections[0], false);
    if (config.bound) {
      saveDraft();
      if (!summary.hidden) summary.focus();
    }
    setUpShareCard();
  }

  form.addEventListener("change", function (event) {
    onToggle(event.target);
    refresh();
    scheduleSave();
  });
  form.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA") updateCounter(event.target);
    if (event.target.type === "text" || event.target.tagName === "TEXTAREA") refresh();
    scheduleSave();
  });
  form.addEventListener("click", function (event) {
    var direction = event.target.getAttribute && event.target.getAttribute("data-go");
    if (direction) move(direction === "next" ? 1 : -1);
  });
  form.addEventListener("submit", onSubmit);
  summary.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a") : null;
    if (link && reveal(link.getAttribute("href"))) event.preventDefault();
  });
  window.addEventListener("pageshow", function (event) {
    // Back after sending: this page is a snapshot of a form already sent. Emptied first, so
    // that the browser does not put the sent answers back into the fresh page.
    if (event.persisted && wasSent(submissionField.value)) {
      form.reset();
      window.location.reload();
    }
  });
  window.addEventListener("pagehide", function () {
    if (saveTimer && !sending) saveDraft();
  });

  start();
})();
