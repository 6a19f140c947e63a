// Backroom: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Live progress of a running backup or restore on the status page.
  var box = document.getElementById("operation");
  var bar = document.getElementById("operation-bar");
  var label = document.getElementById("operation-label");
  var polling = false;

  function poll() {
    fetch("/api/backups/status", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (status) {
        if (!status) { polling = false; return; }
        var op = status.operation;
        if (op) {
          box.classList.remove("hidden");
          bar.value = op.percent;
          label.textContent = op.operation + " " + op.target + ": " + op.phase + " (" + op.percent + "%)";
          setTimeout(poll, 400);
        } else {
          polling = false;
        }
      })
      .catch(function () { polling = false; });
  }

  function startPolling(delay) {
    if (!box || polling) { return; }
    polling = true;
    setTimeout(poll, delay);
  }

  if (box && !box.classList.contains("hidden")) { startPolling(400); }

  // The create form still posts normally (and redirects with a message); meanwhile the bar
  // shows the engine's progress.
  var form = document.getElementById("create-form");
  if (form) {
    form.addEventListener("submit", function () {
      var button = document.getElementById("create-button");
      if (button) { button.disabled = true; button.textContent = "Backing up…"; }
      if (box) {
        box.classList.remove("hidden");
        label.textContent = "Starting the backup…";
      }
      startPolling(200);
    });
  }

  // Confirmation for buttons that delete or replace data.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });

  // On a phone the menu is one line that scrolls sideways: the current page's entry in view.
  var active = document.querySelector(".nav a.active");
  if (active && active.parentElement) {
    var nav = active.closest(".nav");
    if (nav && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = active.offsetLeft - nav.offsetLeft - 8;
    }
  }

  // A target's setup form shows only the chosen kind's fields (folder or S3). Hidden fields
  // are disabled too, so a stale value of the other kind is not sent.
  document.querySelectorAll("form").forEach(function (f) {
    var radios = f.querySelectorAll('input[type="radio"][name="kind"]');
    var groups = f.querySelectorAll(".kind-fields[data-kind]");
    if (!radios.length || !groups.length) { return; }
    function show() {
      var chosen = f.querySelector('input[type="radio"][name="kind"]:checked');
      var kind = chosen ? chosen.value : "folder";
      groups.forEach(function (g) {
        var on = g.getAttribute("data-kind") === kind;
        g.hidden = !on;
        g.querySelectorAll("input, select, textarea").forEach(function (i) { i.disabled = !on; });
      });
    }
    radios.forEach(function (r) { r.addEventListener("change", show); });
    show();
  });

  // A form that came back with errors: put the focus on the first field to fix (or on the
  // message when no single field is at fault), so keyboard and screen-reader users start
  // there.
  var firstInvalid = document.querySelector('main [aria-invalid="true"]');
  var errorMessage = document.querySelector('main .flash-error[role="alert"][tabindex="-1"]');
  if (firstInvalid) {
    firstInvalid.focus();
  } else if (errorMessage) {
    errorMessage.focus();
  }

  window.backroomCsrf = csrfToken;
})();
