// Backroom: the sale form at the counter. Search fields that offer products (with price
// and stock) and customers as you type, more lines on demand, a running total computed
// exactly like the server's (static/money.js), and Enter that moves to the next field
// instead of saving a half-filled sale. Without this file the form still works: Find
// buttons search on the server.
(function () {
  "use strict";

  var form = document.getElementById("sale-form");
  var money = window.BackroomMoney;
  var Combobox = window.BackroomCombobox;
  if (!form || !money || !Combobox) { return; }

  var lines = document.getElementById("sale-lines");
  var template = document.getElementById("sale-line-template");
  var addButton = document.getElementById("add-line");
  var totalOut = document.getElementById("sale-total");
  var totalNote = document.getElementById("sale-total-note");
  var statusBox = document.getElementById("picker-status");

  function say(text) { if (statusBox) { statusBox.textContent = text; } }

  // Replaces the server's list of matches (a select) with a hidden field the combobox fills.
  function chosenField(picker) {
    var select = picker.querySelector("select");
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = select.name;
    var option = select.selectedOptions[0];
    if (option && option.value) {
      hidden.value = option.value;
      hidden.setAttribute("data-price", option.getAttribute("data-price") || "");
      hidden.setAttribute("data-detail", option.getAttribute("data-detail") || "");
    }
    select.replaceWith(hidden);
    return hidden;
  }

  // A picker's chosen value, remembered so Escape can put it back after typing.
  function choice(hidden, note, emptyNote) {
    var kept = { value: hidden.value, price: hidden.getAttribute("data-price") || "", detail: hidden.getAttribute("data-detail") || "" };
    // The server's note may speak of its list of matches, which is gone now.
    note.textContent = kept.value ? kept.detail : emptyNote;
    function set(value, price, detail) {
      hidden.value = value;
      hidden.setAttribute("data-price", price);
      hidden.setAttribute("data-detail", detail);
      note.textContent = value ? detail : emptyNote;
      recompute();
    }
    return {
      pick: function (value, price, detail) { kept = { value: value, price: price, detail: detail }; set(value, price, detail); },
      edit: function () { if (hidden.value) { set("", "", ""); } },
      restore: function () { set(kept.value, kept.price, kept.detail); }
    };
  }

  function enhanceProduct(row) {
    var picker = row.querySelector(".picker");
    var input = picker.querySelector(".picker-input");
    var note = picker.querySelector(".picker-note");
    var hidden = chosenField(picker);
    var chosen = choice(hidden, note, "");
    new Combobox(input, {
      url: "/api/products/search?q=",
      listLabel: "Matching products",
      items: function (json) { return json.products || []; },
      label: function (p) { return p.name; },
      detail: function (p) { return p.detail; },
      pick: function (p) { chosen.pick(String(p.id), String(p.price_cents), p.detail); },
      edit: function () { chosen.edit(); },
      restore: function () { chosen.restore(); },
      found: function (n) { return n === 1 ? "1 product found." : n + " products found."; },
      none: function (q) { return "No product matches “" + q + "”."; },
      status: say
    });
  }

  function enhanceCustomer() {
    var picker = document.getElementById("customer-picker");
    if (!picker) { return; }
    var input = picker.querySelector(".picker-input");
    var note = picker.querySelector(".picker-note");
    var hidden = chosenField(picker);
    var chosen = choice(hidden, note, "");
    new Combobox(input, {
      url: "/api/customers/search?q=",
      listLabel: "Matching customers",
      items: function (json) { return json.customers || []; },
      label: function (c) { return c.name; },
      detail: function (c) { return c.detail || "no phone or e-mail"; },
      pick: function (c) { chosen.pick(String(c.id), "", c.detail); },
      edit: function () { chosen.edit(); },
      restore: function () { chosen.restore(); },
      found: function (n) { return n === 1 ? "1 customer found." : n + " customers found."; },
      none: function (q) { return "No customer matches “" + q + "”."; },
      status: say
    });
  }

  // Gives a line its number in ids and labels (new lines are copies of the template).
  function numberLine(row, n) {
    var input = row.querySelector(".picker-input");
    var note = row.querySelector(".picker-note");
    input.id = "product-q-" + n;
    input.setAttribute("aria-label", "Product, line " + n);
    note.id = "product-note-" + n;
    input.setAttribute("aria-describedby", note.id);
    var quantity = row.querySelector('input[name="quantity"]');
    var price = row.querySelector('input[name="unit_price"]');
    quantity.id = "quantity-" + n;
    quantity.setAttribute("aria-label", "Quantity, line " + n);
    price.id = "price-" + n;
    price.setAttribute("aria-label", "Unit price, line " + n + " (empty: the product's price)");
  }

  function addLine() {
    lines.appendChild(template.content.cloneNode(true));
    var row = lines.lastElementChild;
    numberLine(row, lines.children.length);
    enhanceProduct(row);
    recompute();
    return row;
  }

  function lineValues(row) {
    var hidden = row.querySelector('input[name="product_id"]');
    var price = hidden ? hidden.getAttribute("data-price") : "";
    return {
      productId: hidden ? hidden.value : "",
      productQuery: row.querySelector('input[name="product_q"]').value,
      quantity: row.querySelector('input[name="quantity"]').value,
      unitPrice: row.querySelector('input[name="unit_price"]').value,
      productPriceCents: price ? price : null
    };
  }

  function recompute() {
    var rows = Array.prototype.slice.call(lines.querySelectorAll("tr.sale-line"));
    var sale = money.saleTotal(rows.map(lineValues));
    rows.forEach(function (row, i) {
      var out = row.querySelector(".line-total-value");
      var result = sale.lines[i];
      out.textContent = result.ok ? money.formatCents(result.cents) : "";
    });
    if (sale.ok) {
      totalOut.textContent = money.formatCents(sale.total);
      totalNote.textContent = "";
    } else {
      totalOut.textContent = "–";
      // A line still being filled in is not an error yet: say what is missing, quietly.
      totalNote.textContent = sale.problem ? sale.problem.message : "";
    }
  }

  // The fields Enter moves through, in order.
  function fields() {
    return Array.prototype.slice.call(form.querySelectorAll(
      '.picker-input, input[name="quantity"], input[name="unit_price"]'));
  }

  form.addEventListener("keydown", function (e) {
    var target = e.target;
    if (e.key !== "Enter" || e.defaultPrevented || target.tagName !== "INPUT") { return; }
    e.preventDefault();
    var all = fields();
    var index = all.indexOf(target);
    if (index < 0) { return; }
    // Like Tab, the next field's text is selected: typing replaces the offered 1.
    var next = index + 1 < all.length ? all[index + 1] : addLine().querySelector(".picker-input");
    next.focus();
    next.select();
  });

  form.classList.add("enhanced");
  enhanceCustomer();
  lines.querySelectorAll("tr.sale-line").forEach(enhanceProduct);
  if (addButton && template) {
    addButton.hidden = false;
    addButton.addEventListener("click", function () {
      addLine().querySelector(".picker-input").focus();
    });
  }
  lines.addEventListener("input", recompute);
  lines.addEventListener("change", recompute);
  recompute();
})();
