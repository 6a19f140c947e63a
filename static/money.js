// Backroom: money on the sale form, computed exactly like the server does, so the total the
// page shows is the total that is saved. This is a line-by-line port of
// `src/business/money.rs` (`parse_cents`, `format_cents`) and of the line rules in
// `src/business/sale_form.rs` (`check_line`): integer cents (BigInt, never floating point),
// an empty quantity is 1, an empty price is the product's price. The browser tests compare
// both for hundreds of inputs; change them together.
(function () {
  "use strict";

  var MAX_CENTS = 10000000000; // 100 million, as MAX_CENTS in money.rs
  var MAX_QUANTITY = 1000000n;
  var I64_MAX = 9223372036854775807n;
  var EXAMPLE = "e.g. 12.50";

  // Rust's str::trim: Unicode White_Space at both ends (JavaScript's trim differs slightly).
  var EDGE_SPACE = /^[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
  function rustTrim(text) { return String(text).replace(EDGE_SPACE, ""); }

  // Spaces (also the no-break kinds spreadsheets paste) can only separate thousands.
  function isSpace(c) { return c === " " || c === "\u00a0" || c === "\u202f"; }
  function isDigit(c) { return c >= "0" && c <= "9" && c.length === 1; }
  function allDigits(text) { return /^[0-9]*$/.test(text); }
  function count(text, ch) { return text.split(ch).length - 1; }
  // Rust's str::len counts UTF-8 bytes.
  function byteLength(text) { return new TextEncoder().encode(text).length; }
  function splitOnce(text, ch) {
    var i = text.indexOf(ch);
    return i < 0 ? [text, ""] : [text.slice(0, i), text.slice(i + 1)];
  }

  // The digits of a whole part written with thousands separators, or null when one is out
  // of place (money.rs: ungroup).
  function ungroup(whole, groupMark) {
    var chars = Array.from(whole);
    var hasSpaces = chars.some(isSpace);
    if (groupMark !== null && hasSpaces) { return null; }
    if (groupMark === null && !hasSpaces) { return allDigits(whole) ? whole : null; }
    var groups = [""];
    chars.forEach(function (c) {
      if (c === groupMark || isSpace(c)) { groups.push(""); } else { groups[groups.length - 1] += c; }
    });
    var first = groups[0];
    var firstOk = byteLength(first) >= 1 && byteLength(first) <= 3 && !(first.charAt(0) === "0" && groups.length > 1);
    var restOk = groups.slice(1).every(function (g) { return byteLength(g) === 3; });
    var digitsOk = groups.every(allDigits);
    return firstOk && restOk && digitsOk ? groups.join("") : null;
  }

  // "12", "12.5", "12,50", "1,234.50", "1 234,50" → {ok: true, cents}; anything that could
  // mean two amounts → {ok: false, message}.
  function parseCents(input) {
    var text = rustTrim(input);
    var fail = function (message) { return { ok: false, message: message }; };
    if (text === "") { return fail("Enter an amount, " + EXAMPLE + "."); }
    if (text.charAt(0) === "-") { return fail("The amount cannot be negative."); }
    var bad = Array.from(text).find(function (c) { return !isDigit(c) && c !== "." && c !== "," && !isSpace(c); });
    if (bad !== undefined) {
      return fail("“" + text + "” is not an amount ('" + bad + "' is not a digit). Enter an amount with digits and one decimal point, " + EXAMPLE + ".");
    }
    var dots = count(text, "."), commas = count(text, ",");
    if (dots > 1) {
      return fail("“" + text + "” has more than one dot. Use one decimal point, " + EXAMPLE + ", and no dots between thousands.");
    }
    var whole, frac, groupMark, parts;
    if (dots === 0 && commas === 0) {
      whole = text; frac = ""; groupMark = null;
    } else if (dots === 1) {
      parts = splitOnce(text, ".");
      if (parts[1].indexOf(",") >= 0) {
        return fail("“" + text + "” mixes a dot and a comma in a way that could mean two amounts. Type it without thousands separators, " + EXAMPLE + ".");
      }
      whole = parts[0]; frac = parts[1]; groupMark = commas > 0 ? "," : null;
    } else if (commas === 1) {
      parts = splitOnce(text, ",");
      var after = byteLength(parts[1]);
      if (after === 1 || after === 2) {
        whole = parts[0]; frac = parts[1]; groupMark = null; // a decimal comma
      } else if (after === 3) {
        whole = text; frac = ""; groupMark = ","; // thousands
      } else {
        return fail("“" + text + "”: after a decimal comma come one or two digits for the cents, e.g. 12,50.");
      }
    } else {
      whole = text; frac = ""; groupMark = ",";
    }
    var digits = ungroup(whole, groupMark);
    if (digits === null) {
      return fail("“" + text + "” has thousands separators in the wrong places (they go between groups of three digits, as in 1,234.50). Type it without them, " + EXAMPLE + ".");
    }
    if (Array.from(frac).some(isSpace) || !allDigits(frac)) { return fail("“" + text + "” is not an amount, " + EXAMPLE + "."); }
    if (frac.length > 2) {
      return fail("“" + text + "” has " + frac.length + " decimals: use at most two decimals (cents). If you meant " + digits + frac + ", type it without the dot.");
    }
    if (digits === "" && frac === "") { return fail("“" + text + "” is not an amount, " + EXAMPLE + "."); }
    if (digits.length > 12) { return fail("The amount is too large."); }
    var cents = (digits === "" ? 0 : parseInt(digits, 10)) * 100 +
      (frac.length === 0 ? 0 : frac.length === 1 ? parseInt(frac, 10) * 10 : parseInt(frac, 10));
    if (cents > MAX_CENTS) { return fail("The amount is too large."); }
    return { ok: true, cents: cents };
  }

  // 123456 → "1,234.56" (money.rs: format_cents).
  function formatCents(cents) {
    var value = BigInt(cents);
    var sign = value < 0n ? "-" : "";
    var abs = value < 0n ? -value : value;
    var whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var frac = (abs % 100n).toString().padStart(2, "0");
    return sign + whole + "." + frac;
  }

  // One line: {productId, productQuery, quantity, unitPrice, productPriceCents}. Returns
  // {blank: true}, {ok: true, cents} or {ok: false, field, message} (sale_form.rs: check_line).
  function checkLine(number, line) {
    var blank = rustTrim(line.productId) === "" && rustTrim(line.productQuery) === "" &&
      rustTrim(line.unitPrice) === "" && (rustTrim(line.quantity) === "" || rustTrim(line.quantity) === "1");
    if (blank) { return { blank: true }; }
    var fail = function (field, message) { return { ok: false, field: field, message: "Line " + number + ": " + message }; };
    var id = rustTrim(line.productId);
    if (!/^[+-]?[0-9]+$/.test(id) || BigInt(id) > I64_MAX || BigInt(id) < -I64_MAX - 1n) {
      var q = rustTrim(line.productQuery);
      return fail("product", q === "" ? "choose a product." : "choose a product for “" + q + "” from the list.");
    }
    var qtyText = rustTrim(line.quantity);
    var quantity = qtyText === "" ? 1n : (/^[+-]?[0-9]+$/.test(qtyText) ? BigInt(qtyText) : 0n);
    if (quantity < 1n || quantity > MAX_QUANTITY) {
      return fail("quantity", "the quantity must be a whole number from 1 to 1,000,000.");
    }
    var unit;
    if (rustTrim(line.unitPrice) === "") {
      if (line.productPriceCents === null || line.productPriceCents === undefined) {
        return { ok: false, field: "product", message: "Line " + number + ": the product's price is not known yet." };
      }
      unit = BigInt(line.productPriceCents);
    } else {
      var price = parseCents(line.unitPrice);
      if (!price.ok) { return fail("price", "unit price: " + price.message); }
      unit = BigInt(price.cents);
    }
    var cents = quantity * unit;
    if (cents > I64_MAX) { return fail("price", "the amount is too large."); }
    return { ok: true, cents: cents };
  }

  // The whole sale: {ok: true, total, lines: [...]} or {ok: false, problem, lines: [...]}
  // with each line's result (sales.rs: create adds the lines with overflow checks).
  function saleTotal(lines) {
    var results = lines.map(function (line, i) { return checkLine(i + 1, line); });
    var problem = results.find(function (r) { return !r.blank && !r.ok; });
    if (problem) { return { ok: false, problem: problem, lines: results }; }
    var filled = results.filter(function (r) { return !r.blank; });
    if (filled.length === 0) { return { ok: false, problem: null, lines: results }; }
    var total = filled.reduce(function (sum, r) { return sum + r.cents; }, 0n);
    if (total > I64_MAX) {
      return { ok: false, problem: { message: "The amount is too large." }, lines: results };
    }
    return { ok: true, total: total, lines: results };
  }

  window.BackroomMoney = { parseCents: parseCents, formatCents: formatCents, checkLine: checkLine, saleTotal: saleTotal };
})();
