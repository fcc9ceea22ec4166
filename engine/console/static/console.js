// Forewarn ops console: the few behaviours htmx does not cover. No inline handlers (the CSP forbids them).
(function () {
  "use strict";
  var lastField = null;
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-part], input[data-part]")) {
      lastField = event.target;
    }
  });
  // "Insert" buttons beside the editor put a context variable at the caret of the last edited part.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-insert]");
    if (!button) return;
    var field = lastField || document.querySelector("textarea[data-part]");
    if (!field) return;
    var text = button.getAttribute("data-insert");
    var start = field.selectionStart || 0, end = field.selectionEnd || 0;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + text.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
