// The counter's scan field keeps the focus, so a handheld scanner (which types the code and
// presses Enter) always lands in it. Keyboard users still move with Tab: the field takes the
// focus back only when nothing else has it, or when a scanner starts typing while a button,
// link or checkbox has the focus (Space still ticks a checkbox or presses a button).
(function () {
  "use strict";
  var input = document.getElementById("scan-input");
  if (!input) {
    return;
  }
  var typing = /^(INPUT|TEXTAREA|SELECT)$/;

  function isTextField(element) {
    if (!element || !typing.test(element.tagName)) {
      return false;
    }
    var type = (element.getAttribute("type") || "text").toLowerCase();
    return element.tagName !== "INPUT" || ["text", "search", "number", "date", "email", "url", "tel", "password"].indexOf(type) >= 0;
  }

  function focusScan() {
    input.focus({ preventScroll: true });
  }

  // Nothing focused (a click on empty space, back from another window): back to the scan field.
  document.addEventListener("focusout", function () {
    window.setTimeout(function () {
      if (!document.activeElement || document.activeElement === document.body) {
        focusScan();
      }
    }, 0);
  });
  // Back from another window, the browser gives the focus back to where it was: a checkbox the
  // clerk was about to tick keeps it (a scanner typing there is caught below).
  window.addEventListener("focus", function () {
    if (!document.activeElement || document.activeElement === document.body) {
      focusScan();
    }
  });
  // A printable key while a button, link or checkbox has the focus starts a scan.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1 || event.key === " ") {
      return;
    }
    if (!isTextField(document.activeElement)) {
      focusScan();
    }
  }, true);
  // A form sent back with errors takes the focus to its first invalid field; otherwise the scan
  // field is ready for the next scan at once.
  var invalid = document.querySelector("main form:not(#scan-form) [aria-invalid=true]");
  if (invalid) {
    invalid.focus();
  } else {
    focusScan();
  }
})();
