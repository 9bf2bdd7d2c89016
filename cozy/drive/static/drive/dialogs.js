// Modal dialogs on <dialog>: the browser traps focus and closes them on Escape;
// focus goes back to whatever opened them.

import { h, icon } from "./dom.js";
import { actionMessage } from "./messages.js";

let counter = 0;

export function openDialog({ title, body = [], actions = [], onSubmit, className = "" }) {
  const opener = document.activeElement;
  const titleId = `dialog-title-${++counter}`;
  const error = h("p.dialog-error", { role: "alert", hidden: true });
  const closeButton = h("button.icon-btn", { type: "button", "aria-label": "Close", onclick: () => close() },
    icon("close"));
  const form = h("form.dialog-form", { method: "dialog", noValidate: true },
    h("header.dialog-head", {}, h("h2", { id: titleId }, title), closeButton),
    h("div.dialog-body", {}, body),
    error,
    actions.length ? h("footer.dialog-actions", {}, actions) : null);
  const dialog = h(`dialog.dialog${className ? "." + className : ""}`, { "aria-labelledby": titleId }, form);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (onSubmit) await onSubmit(event);
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    const target = opener && opener.isConnected ? opener : document.getElementById("main");
    target?.focus({ preventScroll: true }); // the list stays where the user left it
  });

  function close() {
    if (dialog.open) dialog.close();
  }
  function setError(message) {
    error.textContent = message || "";
    error.hidden = !message;
  }
  function setBusy(busy) {
    // Re-enable only what this disabled: some controls are disabled for good reasons.
    if (busy) {
      for (const el of form.querySelectorAll("button:not(:disabled), input:not(:disabled), select:not(:disabled)")) {
        if (el === closeButton) continue;
        el.disabled = true;
        el.dataset.busy = "1";
      }
    } else {
      for (const el of form.querySelectorAll("[data-busy]")) {
        el.disabled = false;
        delete el.dataset.busy;
      }
    }
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }
  // Run an API call from the dialog: errors show inside it, success closes it.
  async function run(task) {
    setError("");
    setBusy(true);
    try {
      await task();
      close();
    } catch (err) {
      setBusy(false);
      setError(actionMessage(err));
    }
  }

  document.body.append(dialog);
  dialog.showModal();
  return { dialog, form, close, setError, setBusy, run };
}

export function button(label, props = {}, cls = "btn") {
  return h(`button.${cls.split(" ").join(".")}`, { type: "button", ...props }, label);
}

// Ask for a name (new folder, rename). onSubmit(name) does the work.
export function promptDialog({ title, label, value = "", submitLabel, selectLength, onSubmit }) {
  const input = h("input.text-input", {
    type: "text", id: `prompt-${counter + 1}`, value, required: true, autocomplete: "off", spellcheck: false,
  });
  const field = h("div.field", {}, h("label", { htmlFor: input.id }, label), input);
  const submit = h("button.btn.btn-primary", { type: "submit" }, submitLabel);
  const cancel = button("Cancel", { onclick: () => ui.close() });
  const ui = openDialog({
    title, body: [field], actions: [cancel, submit],
    onSubmit: () => {
      const name = input.value.trim();
      if (!name) {
        ui.setError("Enter a name.");
        input.focus();
        return;
      }
      return ui.run(() => onSubmit(name));
    },
  });
  input.focus();
  input.setSelectionRange(0, selectLength ?? value.length);
  return ui;
}

// Ask before something that cannot be undone.
export function confirmDialog({ title, message, confirmLabel, danger = false, onConfirm }) {
  const confirm = h(`button.btn.${danger ? "btn-danger" : "btn-primary"}`, { type: "submit" }, confirmLabel);
  const cancel = button("Cancel", { onclick: () => ui.close() });
  const ui = openDialog({
    title, body: [h("p", {}, message)], actions: [cancel, confirm],
    onSubmit: () => ui.run(onConfirm),
  });
  cancel.focus(); // the safe choice first
  return ui;
}
