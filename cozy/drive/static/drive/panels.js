// The folder picker (move) and the versions panel: dialogs that load from the API.

import * as api from "./api.js";
import { button, openDialog } from "./dialogs.js";
import { formatDate, formatSize, h, icon, thumb, timeEl } from "./dom.js";
import { actionMessage } from "./messages.js";
import { ancestors, displayName, remember } from "./tree.js";

// Pick a destination folder for entry, starting at startId; onMove(dir) does the move.
// entry may stand for several (a name like "3 items"): exclude lists the folders being moved.
export function moveDialog(entry, startId, onMove, exclude = [entry.id]) {
  const name = entry.attributes.name;
  const crumbs = h("ol.crumbs.crumbs-small");
  const folders = h("ul.picker", { "aria-label": "Folders" });
  const where = h("p.muted.picker-where");
  const submit = h("button.btn.btn-primary", { type: "submit", "aria-describedby": "picker-where" }, "Move here");
  where.id = "picker-where";
  let current = null;
  const ui = openDialog({
    title: `Move “${name}”`,
    className: "dialog-wide",
    body: [h("nav", { "aria-label": "Destination path" }, crumbs), folders, where],
    actions: [button("Cancel", { onclick: () => ui.close() }), submit],
    onSubmit: () => current && ui.run(() => onMove(current)),
  });

  async function open(dirId, focusList) {
    ui.setError("");
    folders.setAttribute("aria-busy", "true");
    try {
      const { dir, children } = await api.listDir(dirId);
      remember(dir, ...children);
      current = dir;
      renderCrumbs([...(await ancestors(dir)), dir]);
      renderFolders(children.filter((c) => c.attributes.type === "directory" && c.id !== api.TRASH_ID));
      const here = dir.id === entry.attributes.dir_id;
      submit.disabled = here;
      where.textContent = here ? `“${name}” is already in ${displayName(dir)}.` : `Destination: ${displayName(dir)}`;
      if (focusList) (folders.querySelector("button") || submit).focus();
    } catch (err) {
      ui.setError(actionMessage(err));
    } finally {
      folders.removeAttribute("aria-busy");
    }
  }

  function renderCrumbs(path) {
    crumbs.replaceChildren(...path.map((dir, i) => {
      const last = i === path.length - 1;
      return h("li", {}, last
        ? h("span", { "aria-current": "location" }, displayName(dir))
        : button(displayName(dir), { onclick: () => open(dir.id, true) }, "crumb-btn"));
    }));
  }

  function renderFolders(dirs) {
    if (!dirs.length) {
      folders.replaceChildren(h("li.picker-empty.muted", {}, "No folders in here."));
      return;
    }
    dirs.sort((a, b) => a.attributes.name.localeCompare(b.attributes.name, undefined, { numeric: true }));
    folders.replaceChildren(...dirs.map((dir) => {
      const self = exclude.includes(dir.id); // a folder cannot go into itself
      return h("li", {}, h("button.picker-item", {
        type: "button", disabled: self, onclick: () => open(dir.id, true),
        "aria-label": self ? `${dir.attributes.name} (the folder being moved)` : `Open ${dir.attributes.name}`,
      }, thumb(dir.attributes), h("span.picker-name", {}, dir.attributes.name), icon("chevron", "icon-xs")));
    }));
  }

  open(startId, false).then(() => (folders.querySelector("button:not([disabled])") || submit).focus());
  return ui;
}

// The current content and the kept versions of a file, each downloadable; old ones restorable.
export function versionsDialog(entry, onRestored) {
  const list = h("ul.versions", { "aria-label": "Versions", "aria-busy": "true" }, h("li.muted", {}, "Loading…"));
  const ui = openDialog({
    title: `Versions of “${entry.attributes.name}”`,
    className: "dialog-wide",
    body: [list],
    actions: [button("Close", { onclick: () => ui.close() })],
  });

  async function load() {
    list.setAttribute("aria-busy", "true");
    try {
      const { file, versions } = await api.getFile(entry.id);
      const rows = [versionRow(file, null, "Current version")];
      rows.push(...versions.map((v) => versionRow(file, v)));
      if (!versions.length) {
        rows.push(h("li.versions-empty.muted", {},
          "No older versions yet. When you upload a file with the same name and choose Replace, "
          + "the previous content is kept here."));
      }
      list.replaceChildren(...rows);
    } catch (err) {
      ui.setError(actionMessage(err));
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  function versionRow(file, version, label) {
    const attrs = version ? version.attributes : file.attributes;
    const when = version ? attrs.updated_at : file.attributes.updated_at;
    const which = label ? "the current version" : `the version of ${formatDate(when)}`;
    const link = h("a.btn.btn-small", {
      href: api.downloadUrl(file.id, version?.id), download: "", "aria-label": `Download ${which}`,
    }, "Download");
    const restore = version
      ? button("Restore", { onclick: () => restoreVersion(version), "aria-label": `Restore ${which}` }, "btn btn-small")
      : null;
    return h(`li.version${version ? "" : ".version-current"}`, { dataset: { versionId: version?.id || "" } },
      h("div.version-info", {},
        h("p.version-title", {}, label || timeEl(when)),
        h("p.muted", {}, label ? [timeEl(when), ` · ${formatSize(attrs.size)}`] : formatSize(attrs.size))),
      h("div.version-actions", {}, link, restore));
  }

  async function restoreVersion(version) {
    ui.setError("");
    ui.setBusy(true);
    try {
      await api.revert(version.id);
      await load();
      onRestored(version);
      list.querySelector(".version-current a")?.focus();
    } catch (err) {
      ui.setError(actionMessage(err));
    } finally {
      ui.setBusy(false);
    }
  }

  load().then(() => list.querySelector("a, button")?.focus());
  return ui;
}
