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

  // The sale form: add lines and show the running total.
  var lines = document.getElementById("sale-lines");
  if (lines) {
    var template = document.getElementById("sale-line-template");
    var addButton = document.getElementById("add-line");
    var totalOut = document.getElementById("sale-total");
    function cents(text) {
      var m = /^\s*(\d*)(?:\.(\d{0,2}))?\s*$/.exec(text || "");
      if (!m || (m[1] === "" && !m[2])) { return null; }
      return parseInt(m[1] || "0", 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
    }
    function recompute() {
      var total = 0;
      lines.querySelectorAll("tr").forEach(function (row) {
        var select = row.querySelector("select");
        var qty = parseInt((row.querySelector('input[name="quantity"]') || {}).value || "0", 10);
        var priceInput = row.querySelector('input[name="unit_price"]');
        var price = cents(priceInput ? priceInput.value : "");
        if (price === null && select && select.selectedOptions.length) {
          price = parseInt(select.selectedOptions[0].getAttribute("data-price") || "0", 10);
        }
        if (qty > 0 && price !== null) { total += qty * price; }
      });
      if (totalOut) { totalOut.textContent = (total / 100).toFixed(2); }
    }
    if (addButton && template) {
      addButton.addEventListener("click", function () {
        lines.appendChild(template.content.cloneNode(true));
        recompute();
      });
    }
    lines.addEventListener("input", recompute);
    lines.addEventListener("change", recompute);
    recompute();
  }

  window.backroomCsrf = csrfToken;
})();
