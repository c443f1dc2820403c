/* Numbers as every page states them, for the scripts that update a page in place: the same
   rule as the server's (common/numbers.py, the templates' num filter): a fixed number of
   decimals with thousands separators, and never a negative zero (a value that rounds to zero
   has no sign). */
(function () {
  "use strict";
  function format(value, digits) {
    if (typeof value !== "number") return "";
    if (Number.isNaN(value)) return "\u2014";
    if (!Number.isFinite(value)) return value > 0 ? "\u221e" : "-\u221e";
    var text = Math.abs(value).toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    if (/^[0.,]*$/.test(text)) return text;
    return value < 0 ? "-" + text : text;
  }
  window.platformNumbers = { format: format };
})();
