// Backroom: a search field that offers matches as you type, following the WAI-ARIA
// combobox pattern (a text field with a listbox popup, list autocomplete, manual
// selection): Down/Up move through the matches, Enter picks one, Escape closes the list
// (a second Escape puts back what was chosen), a tap or click picks too. Without
// JavaScript the same field and its Find button search on the server.
(function () {
  "use strict";

  var DEBOUNCE_MS = 120;

  // input: the text field. config: {url, items(json), label(item), detail(item),
  // pick(item), edit(), status(text)}.
  function Combobox(input, config) {
    var list = document.createElement("ul");
    var items = [];
    var active = -1;
    var timer = null;
    var asked = 0;
    var picked = input.value;

    list.id = input.id + "-list";
    list.className = "combo-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", config.listLabel);
    list.hidden = true;
    input.parentNode.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");

    function isOpen() { return !list.hidden; }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function setActive(index) {
      var options = list.children;
      if (active >= 0 && options[active]) {
        options[active].classList.remove("active");
        options[active].setAttribute("aria-selected", "false");
      }
      active = index;
      if (index < 0 || !options[index]) { input.removeAttribute("aria-activedescendant"); return; }
      options[index].classList.add("active");
      options[index].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }

    function pick(index) {
      var item = items[index];
      if (!item) { return; }
      input.value = config.label(item);
      picked = input.value;
      close();
      config.pick(item);
      config.status("Chosen: " + config.label(item) + ", " + config.detail(item) + ".");
    }

    function show(found) {
      items = found;
      list.textContent = "";
      active = -1;
      items.forEach(function (item, i) {
        var option = document.createElement("li");
        var name = document.createElement("span");
        var detail = document.createElement("span");
        option.id = list.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        name.className = "combo-name";
        name.textContent = config.label(item);
        detail.className = "combo-detail";
        detail.textContent = config.detail(item);
        option.appendChild(name);
        option.appendChild(detail);
        // Keep the focus in the field, so a tap or click does not close the list first.
        option.addEventListener("mousedown", function (e) { e.preventDefault(); });
        option.addEventListener("click", function () { pick(i); });
        option.addEventListener("mousemove", function () { if (active !== i) { setActive(i); } });
        list.appendChild(option);
      });
      if (items.length === 0) {
        close();
        config.status(config.none(input.value));
        return;
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      config.status(config.found(items.length));
    }

    function search(then) {
      var question = ++asked;
      fetch(config.url + encodeURIComponent(input.value), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (json) {
          // Only the answer to the latest question counts (typing outruns the network).
          if (question !== asked || !json || document.activeElement !== input) { return; }
          show(config.items(json));
          if (then) { then(); }
        })
        .catch(function () { config.status("The search did not answer: try again."); });
    }

    input.addEventListener("input", function () {
      config.edit();
      clearTimeout(timer);
      timer = setTimeout(function () { search(null); }, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "Down") {
        e.preventDefault();
        if (!isOpen()) {
          clearTimeout(timer);
          search(function () { setActive(0); });
        } else {
          setActive(active + 1 < items.length ? active + 1 : 0);
        }
      } else if (e.key === "ArrowUp" || e.key === "Up") {
        if (!isOpen()) { return; }
        e.preventDefault();
        setActive(active > 0 ? active - 1 : items.length - 1);
      } else if (e.key === "Enter") {
        // Enter picks; it never sends the form from here (the page moves on to the next field).
        if (isOpen() && (active >= 0 || items.length === 1)) {
          e.preventDefault();
          pick(active >= 0 ? active : 0);
        }
      } else if (e.key === "Escape" || e.key === "Esc") {
        if (isOpen()) {
          e.preventDefault();
          close();
        } else if (input.value !== picked) {
          e.preventDefault();
          input.value = picked;
          config.restore();
        }
      } else if (e.key === "Tab") {
        close();
      }
    });

    input.addEventListener("blur", close);
  }

  window.BackroomCombobox = Combobox;
})();
