// Uploads: each file is the raw body of its own XMLHttpRequest (for upload
// progress events), a few at a time, each with a progress bar and a cancel button.

import { csrfToken, errorDetail, listDir, overwriteUrl, uploadUrl } from "./api.js";
import { fileMd5 } from "./checksum.js";
import { formatSize, h, icon, thumb } from "./dom.js";
import { uploadMessage } from "./messages.js";

const PARALLEL = 3;
const COLLAPSE_AFTER_MS = 4000;
const DOCK_MIN_WIDTH = 1000; // below this the panel floats over the list (phones: see drive.css)
// "conflict": the name is taken, nothing failed; the user chooses Replace or Keep both.
const FINISHED = new Set(["done", "failed", "cancelled", "conflict"]);
const ACTIVE = new Set(["hashing", "sending", "saving"]);
// Bodies of these types would be parsed as forms; the API refuses them.
const FORM_TYPES = /^(multipart\/form-data|application\/x-www-form-urlencoded)/i;

const MIME_CLASSES = [
  [/^image\//, "image"], [/^audio\//, "audio"], [/^video\//, "video"], [/^text\//, "text"],
  [/^application\/pdf$/, "pdf"], [/(zip|tar|gzip|compressed)/, "zip"], [/(json|javascript)/, "code"],
];

function classOf(mime) {
  const found = MIME_CLASSES.find(([re]) => re.test(mime || ""));
  return found ? found[1] : "files";
}

// "a.txt" taken -> "a (2).txt", as the server names restored files.
function freeName(name, taken) {
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let n = 2; ; n += 1) {
    const candidate = `${stem} (${n})${ext}`;
    if (!taken.has(candidate)) return candidate;
  }
}

// Worth trying again as it is: the network, the store, the quota (after freeing space).
const retryable = (status) => status === null || status === 0 || status === 412 || status === 413 || status >= 500;

export class Uploads {
  constructor({ onUploaded }) {
    this.items = [];
    this.onUploaded = onUploaded;
    this.panel = document.getElementById("uploads");
    this.list = document.getElementById("upload-list");
    this.summary = document.getElementById("uploads-summary");
    this.toggle = document.getElementById("uploads-toggle");
    document.getElementById("uploads-clear").addEventListener("click", () => this.clearFinished());
    this.toggle.addEventListener("click", () => this.setExpanded(this.list.hidden));
    // Room for the panel: below the list, and on wide screens beside it while it is
    // open, so that it never covers the date, size and menu of the lowest rows.
    const makeRoom = () => {
      const open = !this.panel.hidden && !this.list.hidden;
      const space = this.panel.hidden ? 0 : this.panel.offsetHeight + 24;
      const dock = open && window.innerWidth >= DOCK_MIN_WIDTH ? this.panel.offsetWidth + 16 : 0;
      document.documentElement.style.setProperty("--uploads-space", `${space}px`);
      document.documentElement.style.setProperty("--uploads-dock", `${dock}px`);
    };
    new ResizeObserver(makeRoom).observe(this.panel);
    window.addEventListener("resize", makeRoom);
    window.addEventListener("beforeunload", (event) => {
      if (this.items.some((item) => !FINISHED.has(item.state))) event.preventDefault();
    });
  }

  // Queue files for the directory dir ({id, name}). rejected: [{name, reason}] shown as failures.
  add(files, dir, rejected = []) {
    for (const file of files) this.items.push(this.newItem(file, dir));
    for (const { name, reason } of rejected) {
      const item = this.newItem(null, dir, name);
      this.items.push(item);
      this.setState(item, "failed", reason);
    }
    this.panel.hidden = false;
    this.setExpanded(true);
    this.pump();
  }

  newItem(file, dir, name = file.name) {
    const item = { file, name, dir, replaceId: null, state: "queued", loaded: 0, xhr: null, md5: null };
    item.view = this.renderItem(item);
    this.list.append(item.view.row);
    return item;
  }

  renderItem(item) {
    const size = item.file ? item.file.size : 0;
    const bar = h("progress", { max: 100, value: 0, "aria-label": `Upload of ${item.name}` });
    const percent = h("span.upload-percent", {}, "0%");
    const bytes = h("span.upload-bytes", {}, formatSize(size));
    const status = h("p.upload-status", { "aria-live": "polite" }, "Waiting…");
    const buttons = h("div.upload-buttons");
    const dismiss = h("button.icon-btn.upload-dismiss", {
      type: "button", hidden: true, "aria-label": `Dismiss: ${item.name}`, onclick: () => this.remove(item),
    }, icon("close"));
    const row = h("li.upload", { dataset: { state: item.state, name: item.name } },
      thumb({ type: "file", class: classOf(item.file?.type) }),
      h("div.upload-main", {},
        h("div.upload-title", {}, h("p.upload-name", { title: item.name }, item.name), dismiss),
        bar,
        h("div.upload-meta", {}, percent, bytes),
        status),
      buttons);
    return { row, bar, percent, bytes, status, buttons, dismiss };
  }

  pump() {
    let running = this.items.filter((i) => ACTIVE.has(i.state)).length;
    for (const item of this.items) {
      if (running >= PARALLEL) break;
      if (item.state === "queued") {
        this.start(item);
        running += 1;
      }
    }
    this.updateSummary();
  }

  // Hash first (once: a retry reuses it), then send with Content-MD5.
  async start(item) {
    item.cancelled = false;
    if (!item.md5) {
      this.setState(item, "hashing", "Checking the file…");
      item.hashing = fileMd5(item.file, (loaded) => {
        item.view.status.textContent = `Checking the file… ${Math.floor((loaded / item.file.size) * 100)}%`;
      });
      try {
        item.md5 = await item.hashing.promise;
      } catch (err) {
        if (!item.cancelled) this.setState(item, "failed", `The file could not be read: ${err.message}.`);
        return;
      } finally {
        item.hashing = null;
      }
    }
    if (!item.cancelled) this.send(item);
  }

  send(item) {
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    const url = item.replaceId ? overwriteUrl(item.replaceId) : uploadUrl(item.dir.id, item.name);
    xhr.open(item.replaceId ? "PUT" : "POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/vnd.api+json");
    const type = item.file.type && !FORM_TYPES.test(item.file.type) ? item.file.type : "application/octet-stream";
    xhr.setRequestHeader("Content-Type", type);
    xhr.setRequestHeader("Content-MD5", item.md5);
    xhr.upload.addEventListener("progress", (e) => this.progress(item, e.loaded));
    xhr.upload.addEventListener("load", () => {
      this.progress(item, item.file.size);
      this.setState(item, "saving", "Saving…");
    });
    xhr.addEventListener("load", () => this.finished(item, xhr));
    xhr.addEventListener("error", () => this.setState(item, "failed", uploadMessage(0)));
    xhr.addEventListener("abort", () => {
      if (!item.cancelled) this.setState(item, "failed", uploadMessage(0));
    });
    this.setState(item, "sending", "Uploading…");
    xhr.send(item.file); // the File itself: the browser streams it from disk
  }

  progress(item, loaded) {
    const size = item.file.size;
    item.loaded = Math.min(loaded, size);
    const pct = size ? Math.floor((item.loaded / size) * 100) : 100;
    item.view.bar.value = pct;
    item.view.percent.textContent = `${pct}%`;
    item.view.bytes.textContent = `${formatSize(item.loaded)} of ${formatSize(size)}`;
  }

  finished(item, xhr) {
    if (xhr.status >= 200 && xhr.status < 300) {
      this.progress(item, item.file.size);
      this.setState(item, "done", item.replaceId ? "Replaced: the previous content is kept as a version." : "Uploaded");
      this.onUploaded(item.dir.id);
    } else {
      const state = xhr.status === 409 ? "conflict" : "failed";
      this.setState(item, state, uploadMessage(xhr.status, errorDetail(xhr.responseText), item.name), xhr.status);
    }
  }

  setState(item, state, message, status = null) {
    item.state = state;
    item.status = status;
    item.view.row.dataset.state = state;
    item.view.status.textContent = message;
    if (FINISHED.has(state)) item.xhr = null;
    this.renderButtons(item);
    if (FINISHED.has(state) || state === "queued") this.pump();
    else this.updateSummary();
  }

  renderButtons(item) {
    const name = item.name;
    const btn = (label, onclick, cls = "btn btn-small") =>
      h(`button.${cls.split(" ").join(".")}`, { type: "button", "aria-label": `${label}: ${name}`, onclick }, label);
    const buttons = [];
    if (!FINISHED.has(item.state)) buttons.push(btn("Cancel", () => this.cancel(item)));
    if (item.state === "conflict") {
      buttons.push(btn("Replace", () => this.replace(item), "btn btn-small btn-primary"));
      buttons.push(btn("Keep both", () => this.keepBoth(item)));
    } else if (item.file && (item.state === "cancelled" || (item.state === "failed" && retryable(item.status)))) {
      buttons.push(btn("Retry", () => this.retry(item)));
    }
    const hadFocus = item.view.row.contains(document.activeElement);
    item.view.dismiss.hidden = !FINISHED.has(item.state);
    item.view.buttons.replaceChildren(...buttons);
    if (hadFocus) (buttons[0] || item.view.dismiss).focus(); // keep keyboard users in the row
  }

  cancel(item) {
    item.cancelled = true;
    item.hashing?.cancel();
    item.xhr?.abort();
    this.setState(item, "cancelled", "Cancelled: nothing was saved.");
  }

  retry(item) {
    if (item.status === 412) item.md5 = null; // the file may have changed on disk since it was hashed
    this.resetProgress(item);
    this.setState(item, "queued", "Waiting…");
  }

  resetProgress(item) {
    item.loaded = 0;
    item.view.bar.value = 0;
    item.view.percent.textContent = "0%";
  }

  // On a name conflict: overwrite the existing file (its content becomes a version).
  async replace(item) {
    await this.resolveConflict(item, (children) => {
      const existing = children.find((c) => c.attributes.name === item.name);
      if (!existing) return true; // gone meanwhile: a plain upload works again
      if (existing.attributes.type === "directory") {
        this.setState(item, "conflict", `A folder is named “${item.name}”: choose Keep both instead.`, 409);
        return false;
      }
      item.replaceId = existing.id;
      return true;
    });
  }

  // On a name conflict: upload under the first free "name (n)".
  async keepBoth(item) {
    await this.resolveConflict(item, (children) => {
      item.name = freeName(item.name, new Set(children.map((c) => c.attributes.name)));
      item.view.row.dataset.name = item.name;
      item.view.row.querySelector(".upload-name").textContent = item.name;
      return true;
    });
  }

  async resolveConflict(item, decide) {
    this.setState(item, "checking", "Checking the folder…");
    try {
      const { children } = await listDir(item.dir.id);
      if (!decide(children)) return;
    } catch (err) {
      this.setState(item, "failed", uploadMessage(err.status ?? 0, err.detail, item.name), err.status);
      return;
    }
    this.resetProgress(item);
    this.setState(item, "queued", "Waiting…");
  }

  remove(item) {
    this.items = this.items.filter((i) => i !== item);
    const next = item.view.row.nextElementSibling || item.view.row.previousElementSibling;
    item.view.row.remove();
    next?.querySelector("button:not([hidden])")?.focus();
    if (!this.items.length) this.panel.hidden = true;
    this.updateSummary();
  }

  clearFinished() {
    for (const item of this.items.filter((i) => FINISHED.has(i.state))) item.view.row.remove();
    this.items = this.items.filter((i) => !FINISHED.has(i.state));
    if (!this.items.length) this.panel.hidden = true;
    this.updateSummary();
  }

  setExpanded(expanded) {
    this.list.hidden = !expanded;
    this.toggle.setAttribute("aria-expanded", String(expanded));
    this.toggle.querySelector(".visually-hidden").textContent = expanded ? "Hide uploads" : "Show uploads";
    this.panel.classList.toggle("collapsed", !expanded);
  }

  // Once everything went well, fold the list away so that it does not hide the files.
  scheduleCollapse() {
    clearTimeout(this.collapseTimer);
    const allDone = this.items.length && this.items.every((i) => i.state === "done");
    if (!allDone) return;
    this.collapseTimer = setTimeout(() => {
      if (this.panel.matches(":hover, :focus-within")) this.scheduleCollapse();
      else if (this.items.every((i) => i.state === "done")) this.setExpanded(false);
    }, COLLAPSE_AFTER_MS);
  }

  updateSummary() {
    const count = (state) => this.items.filter((i) => i.state === state).length;
    const total = this.items.length;
    const done = count("done");
    const failed = count("failed");
    const conflicts = count("conflict");
    const parts = [`${done} of ${total} done`];
    if (failed) parts.push(`${failed} failed`);
    if (conflicts) parts.push(`${conflicts} need${conflicts > 1 ? "" : "s"} a choice`);
    this.summary.textContent = total ? parts.join(", ") : "";
    this.scheduleCollapse();
  }
}
