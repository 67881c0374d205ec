"use strict";
// Django's admin: names for the autocomplete fields (select2) when nothing is chosen yet.
// select2's combobox is named only by the chosen value's text, so an empty one has no name
// (WCAG 4.1.2). Name it by the field's label, followed by the chosen value.
{
  const nameCombobox = (select) => {
    const combobox = select.nextElementSibling?.querySelector(".select2-selection[role=combobox]");
    const chosen = document.getElementById(`select2-${select.id}-container`);
    if (!combobox || !chosen || combobox.dataset.named) return;
    let label = document.querySelector(`label[for="${select.id}"]`);
    if (!label && select.getAttribute("aria-label")) {
      // A field in a tabular inline row has no label of its own, only its column's heading.
      label = document.createElement("span");
      label.hidden = true;
      label.textContent = select.getAttribute("aria-label");
      select.before(label);
    }
    if (!label) return;
    label.id ||= `${select.id}-label`;
    combobox.setAttribute("aria-labelledby", `${label.id} ${chosen.id}`);
    combobox.dataset.named = "yes";
    // select2 calls the chosen value a read-only text box, which then needs a name of its own;
    // it is only the combobox's text.
    chosen.removeAttribute("role");
    chosen.removeAttribute("aria-readonly");
  };
  const nameAll = (root) => root.querySelectorAll("select.admin-autocomplete").forEach(nameCombobox);
  // After Django's autocomplete.js has set up select2: on load, after it handles a new inline row,
  // and whenever a select2 box appears later (on a slow machine select2 may finish after "load").
  window.addEventListener("load", () => nameAll(document));
  window.addEventListener("formset:added", (event) => nameAll(event.target));
  new MutationObserver((changes) => {
    if (changes.some((change) => [...change.addedNodes].some((node) => node.nodeType === 1
        && (node.matches(".select2") || node.querySelector?.(".select2"))))) nameAll(document);
  }).observe(document.documentElement, {childList: true, subtree: true});
}
