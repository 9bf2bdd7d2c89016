// The Drive page: browse, sort, upload, download, rename, move, trash, versions, view.
// Every read and write goes through the files API (api.js).

import * as api from "./api.js";
import { initAvatar } from "./avatar.js";
import { confirmDialog, promptDialog } from "./dialogs.js";
import { formatDate, formatSize, h, icon, stemLength, thumb, timeEl } from "./dom.js";
import { closeMenu, initMenu, menuIsOpenFor, menuTrigger, moveMenuTo, openMenu, toast } from "./menu.js";
import { actionMessage } from "./messages.js";
import { syncChildren } from "./morph.js";
import { dirOf, droppedTree, makeTree, pickedFiles } from "./folders.js";
import { initLayout, thumbFormat } from "./layout.js";
import { Selection } from "./selection.js";
import { moveDialog, versionsDialog } from "./panels.js";
import { initThumbs, showThumbs, thumbImg } from "./thumbs.js";
import { ancestors, displayName, forget, remember } from "./tree.js";
import { Uploads } from "./uploads.js";
import { isViewable, openViewer } from "./viewer.js";

const $ = (id) => document.getElementById(id);
const SORT_KEY = "cozy.drive.sort";
const DEFAULT_DIRECTION = { name: "asc", date: "desc", size: "desc" };
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
let selection = null; // a Selection, made by init()

const state = {
  view: "files", // or "trash"
  dir: null, // the directory shown (the trash directory in the trash view)
  target: null, // {view, dirId} last asked for: what a refresh reloads, even before it is shown
  children: [],
  sort: loadSort(),
  loading: 0, // a counter, so that a slow answer never replaces a newer one
};

// -- sorting ---------------------------------------------------------------------
function loadSort() {
  try {
    const saved = JSON.parse(localStorage.getItem(SORT_KEY));
    if (saved && DEFAULT_DIRECTION[saved.key] && ["asc", "desc"].includes(saved.dir)) return saved;
  } catch {
    /* a bad saved value: use the default */
  }
  return { key: "name", dir: "asc" };
}

function setSort(key, dir) {
  state.sort = { key, dir };
  localStorage.setItem(SORT_KEY, JSON.stringify(state.sort));
  renderSortControls();
  renderRows();
}

const sortValue = {
  name: () => 0,
  date: (a, b) => Date.parse(a.attributes.updated_at) - Date.parse(b.attributes.updated_at),
  size: (a, b) => Number(a.attributes.size || 0) - Number(b.attributes.size || 0),
};

// Folders first whatever the order, then the chosen key, then the name.
function compareEntries(a, b) {
  const aDir = a.attributes.type === "directory";
  const bDir = b.attributes.type === "directory";
  if (aDir !== bDir) return aDir ? -1 : 1;
  const sign = state.sort.dir === "asc" ? 1 : -1;
  const byKey = sortValue[state.sort.key](a, b);
  return sign * (byKey || collator.compare(a.attributes.name, b.attributes.name));
}

function renderSortControls() {
  for (const th of document.querySelectorAll("th[data-sort]")) {
    const active = th.dataset.sort === state.sort.key;
    if (active) th.setAttribute("aria-sort", state.sort.dir === "asc" ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  }
  $("sort-select").value = `${state.sort.key}:${state.sort.dir}`;
}

function initSort() {
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.sort;
      const same = key === state.sort.key;
      const flipped = state.sort.dir === "asc" ? "desc" : "asc";
      setSort(key, same ? flipped : DEFAULT_DIRECTION[key]);
    });
  }
  $("sort-select").addEventListener("change", (e) => setSort(...e.target.value.split(":")));
  renderSortControls();
}

// -- loading views -----------------------------------------------------------------
function route() {
  const hash = location.hash;
  if (hash === "#/trash") return load("trash", api.TRASH_ID, { focus: true });
  if (hash === "#/recent") return load("recent", "", { focus: true });
  const search = hash.match(/^#\/search\/(.+)$/);
  if (search) {
    const text = decodeURIComponent(search[1]);
    if ($("search").value !== text) $("search").value = text; // a reload, or back to a search
    return load("search", text, { focus: document.activeElement !== $("search") });
  }
  if ($("search").value) $("search").value = ""; // left the results
  const match = hash.match(/^#\/folder\/(.+)$/);
  return load("files", match ? decodeURIComponent(match[1]) : api.ROOT_ID, { focus: true });
}

// Search results and Recent: lists across folders, each row saying its folder.
const LISTS = { search: (text) => api.searchByName(text), recent: () => api.recentFiles() };
const isList = (view) => view in LISTS;

async function fetchView(view, dirId) {
  if (isList(view)) return { dir: null, children: await LISTS[view](dirId), path: [] };
  const { dir, children } = await api.listDir(dirId);
  const path = view === "trash" ? [] : await ancestors(dir);
  if (dir.attributes.type !== "directory") throw new api.ApiError(404, "this is a file, not a folder");
  if (view === "files" && dir.attributes.trashed) throw new api.ApiError(404, "this folder is in the trash");
  return { dir, children, path };
}

async function load(view, dirId, { focus = false, keepFocus = false } = {}) {
  const ticket = ++state.loading;
  state.target = { view, dirId };
  setStatus("Loading…");
  $("files").setAttribute("aria-busy", "true");
  if (view !== state.view || dirId !== (isList(view) ? state.query : state.dir?.id)) {
    // Another view is coming: the rows shown belong to the old one. A menu opened on them would
    // act on the old view (a trashed file's files menu, shown in the trash), so none is kept, and
    // the old rows take no clicks until the new ones are there.
    closeMenu(false);
    $("files").inert = true;
    selection.clear(); // a selection belongs to the view it was made in
  }
  try {
    const { dir, children, path } = await fetchView(view, dirId);
    if (ticket !== state.loading) return;
    remember(dir, ...children);
    // Where the focus is now, not when the refresh was asked: the user went on meanwhile.
    const memo = keepFocus ? focusMemo() : null;
    Object.assign(state, { view, dir, query: dirId, children: children.filter((c) => c.id !== api.TRASH_ID) });
    renderView(path);
    setStatus(countText());
    updateStorage();
    if (focus) $("crumbs-current").focus({ preventScroll: true });
    else if (memo && !memo.el.isConnected) restoreFocus(memo); // only when its element went away
  } catch (err) {
    if (ticket === state.loading) showLoadError(view, err);
  } finally {
    if (ticket === state.loading) {
      $("files").removeAttribute("aria-busy");
      $("files").inert = false;
    }
  }
}

// Storage used (and the quota) in the side bar, after every listing: changes come with one.
let storageTimer = null;
function updateStorage() {
  clearTimeout(storageTimer);
  storageTimer = setTimeout(async () => {
    try {
      const usage = await api.diskUsage();
      const used = Number(usage.used);
      const quota = usage.is_limited ? Number(usage.quota) : 0;
      $("storage-text").textContent = quota
        ? `${formatSize(used)} of ${formatSize(quota)} used` : `${formatSize(used)} used`;
      $("storage-fill").style.width = quota ? `${Math.min(100, (used / quota) * 100)}%` : "0";
      $("storage").classList.toggle("storage-full", quota > 0 && used / quota >= 0.9);
      $("storage").querySelector(".storage-bar").hidden = !quota;
      $("storage").hidden = false;
    } catch {
      /* the side bar goes without: the listing itself worked */
    }
  }, 200);
}

// Reload the current view, keeping the keyboard focus where it is.
function refresh() {
  if (!state.target) return Promise.resolve();
  return load(state.target.view, state.target.dirId, { keepFocus: true });
}

function countText() {
  const n = state.children.length;
  if (state.view === "search") return `${n} result${n === 1 ? "" : "s"}`;
  if (state.view === "trash") return n ? `${n} item${n > 1 ? "s" : ""} in the trash` : "";
  return n ? `${n} item${n > 1 ? "s" : ""}` : "";
}

function setStatus(text) {
  $("status").textContent = text;
}

function showLoadError(view, err) {
  state.dir = null;
  state.children = [];
  state.view = view;
  renderChrome();
  renderCrumbs([], view === "trash" ? "Trash" : "Not available");
  $("rows").replaceChildren();
  $("files").hidden = true;
  const text = err.status === 404 ? "This folder does not exist, or it was moved or deleted." : actionMessage(err);
  const link = err.status === 401
    ? h("a", { href: `/auth/login?next=${encodeURIComponent("/drive/")}` }, "Log in again")
    : h("a", { href: "#/" }, "Go to My files");
  $("empty-text").replaceChildren(text, " ", link);
  $("empty").hidden = false;
  setStatus("");
}

// -- rendering -------------------------------------------------------------------------
function renderView(path) {
  renderChrome();
  const title = viewTitle();
  renderCrumbs(path, title);
  document.title = `${title} · Drive · Cozy`;
  renderRows();
}

function viewTitle() {
  if (state.view === "trash") return "Trash";
  if (state.view === "recent") return "Recent";
  if (state.view === "search") return `Results for “${state.query}”`;
  return displayName(state.dir);
}

// What changes between the files view, the trash view and the lists across folders.
function renderChrome() {
  for (const el of document.querySelectorAll("[data-view]")) el.hidden = !el.dataset.view.split(" ").includes(state.view);
  document.querySelector("th.col-where").textContent = state.view === "trash" ? "Original location" : "Folder";
  for (const link of document.querySelectorAll(".place")) {
    if (link.dataset.place === state.view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  $("new-folder").disabled = $("upload-button").disabled = $("upload-folder-button").disabled = !state.dir;
  // In the trash, a file was last changed when it was deleted.
  document.querySelector("th.col-date .sort").firstChild.textContent = state.view === "trash" ? "Deleted" : "Modified";
}

function renderCrumbs(path, title) {
  const items = path.map((dir) =>
    h("li", { dataset: { key: dir.id } }, h("a", { href: dirHref(dir.id) }, displayName(dir)),
      icon("chevron", "icon-xs crumb-sep")));
  items.push(h("li", { dataset: { key: "current" } },
    h("h1", { id: "crumbs-current", tabIndex: -1, "aria-current": "page" }, title)));
  syncChildren($("crumbs"), items, (li) => li.dataset.key);
}

const dirHref = (id) => (id === api.ROOT_ID ? "#/" : `#/folder/${encodeURIComponent(id)}`);

// Rows are updated in place (morph.js): a refresh in the background must not replace the
// button being clicked, the focused link or an open menu's trigger.
function renderRows() {
  const menuRow = menuTrigger()?.closest("tr")?.dataset.id;
  // Recent is in the server's order (last changed first); the other lists in the chosen one.
  const entries = state.view === "recent" ? [...state.children] : [...state.children].sort(compareEntries);
  syncChildren($("rows"), entries.map(row), (tr) => tr.dataset.id);
  showThumbs($("rows"));
  if (menuRow) keepMenu(menuRow);
  selection.prune();
  renderSelection();
  const empty = entries.length === 0 && (state.dir || isList(state.view));
  $("files").hidden = Boolean(empty);
  $("empty").hidden = !empty;
  $("empty-text").textContent = {
    trash: "The trash is empty.",
    recent: "No files yet: what you upload or change shows up here.",
    search: `Nothing is named like “${state.query}”.`,
  }[state.view] || "This folder is empty. Drop files here, or use Upload.";
  $("empty-trash").disabled = state.view === "trash" && entries.length === 0;
}

function row(entry) {
  const a = entry.attributes;
  const isDir = a.type === "directory";
  const size = isDir ? "—" : formatSize(a.size);
  const menuButton = h("button.icon-btn.row-menu", {
    type: "button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": `Actions for ${a.name}`,
    onclick: (e) => toggleRowMenu(e.currentTarget), // the entry as listed now: the button outlives refreshes
  }, icon("more"));
  const check = h("input.row-check", { type: "checkbox", "aria-label": `Select ${a.name}` });
  return h("tr", { dataset: { id: entry.id, name: a.name, kind: a.type } },
    h("td.col-check", {}, check),
    h("td.col-icon", {}, thumb(a, thumbImg(entry, thumbFormat()))),
    h("td.col-name", {}, nameCell(entry), h("span.row-sub", {}, [formatDate(a.updated_at), isDir ? "" : size]
      .filter(Boolean).join(" · "))),
    h("td.col-where", { hidden: state.view !== "trash" && !isList(state.view) }, whereOf(entry)),
    h("td.col-date", {}, timeEl(a.updated_at)),
    h("td.col-size", {}, size),
    h("td.col-menu", {}, menuButton));
}

function whereOf(entry) {
  if (state.view === "trash") return entry.attributes.restore_path || "/";
  const full = entry.attributes.path || "";  // a file's path: its folder is all but its name
  const path = entry.meta?.dir_path || full.slice(0, full.lastIndexOf("/")) || "/";
  return path === "/" ? "My files" : `My files${path}`;
}

function nameCell(entry) {
  const a = entry.attributes;
  if (state.view === "trash") return h("span.name", { tabIndex: -1 }, a.name);
  if (a.type === "directory") return h("a.name", { href: dirHref(entry.id) }, a.name);
  const verb = isViewable(entry) ? "View" : "Download"; // a plain click on a picture or a PDF opens the viewer
  return h("a.name", { href: api.downloadUrl(entry.id), download: "", title: `${verb} ${a.name}` }, a.name);
}

// -- the viewer -----------------------------------------------------------------------------
// A plain click on the name of an image or a PDF opens it in the page; other files download.
function onNameClick(event) {
  const link = event.target.closest("a.name");
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  const entry = state.children.find((c) => c.id === link.closest("tr").dataset.id);
  if (!isViewable(entry)) return;
  event.preventDefault();
  openViewer(entry, {
    entries: () => {
      const byId = new Map(state.children.map((c) => [c.id, c]));
      return [...$("rows").rows].map((tr) => byId.get(tr.dataset.id)).filter(isViewable);
    },
    reload: (id) => api.getNode(id).catch(() => null),
    onClose: (id) => {
      if ([...$("rows").rows].some((tr) => tr.dataset.id === id)) focusRow(id);
      else $("crumbs-current").focus({ preventScroll: true });
    },
  });
}

// -- several rows at once ---------------------------------------------------------------
// Checkbox states are properties, which morph.js does not touch: set them after each render.
function renderSelection() {
  for (const tr of $("rows").rows) {
    const on = selection.has(tr.dataset.id);
    tr.setAttribute("aria-selected", String(on));
    tr.querySelector(".row-check").checked = on;
  }
  const n = selection.size;
  const all = $("rows").rows.length;
  $("select-all").checked = n > 0 && n === all;
  $("select-all").indeterminate = n > 0 && n < all;
  $("selection-bar").hidden = n === 0;
  $("selection-count").textContent = `${n} selected`;
}

const selectedEntries = () => state.children.filter((c) => selection.has(c.id));
const countOf = (n) => `${n} item${n > 1 ? "s" : ""}`;

// One request per entry, in order; the list is reloaded whatever happened.
async function eachSelected(task) {
  const entries = selectedEntries();
  try {
    for (const entry of entries) await task(entry);
  } finally {
    await refresh();
  }
  return entries;
}

function downloadSelected() {
  const entries = selectedEntries();
  const whole = entries.length === 1 ? entries[0].attributes.name : displayName(state.dir);
  const name = whole.slice(0, 60).trim() || "files"; // the route takes names of up to 60 characters
  return attempt(async () => {
    const link = await api.archiveLink(entries.map((e) => e.id), name);
    h("a", { href: link, download: "" }).click(); // a plain GET: the browser streams it to disk
    toast(`Downloading ${countOf(entries.length)} as “${name}.zip”.`);
  });
}

function moveSelected() {
  const entries = selectedEntries();
  const stand = { id: null, attributes: { name: countOf(entries.length), dir_id: state.dir.id } };
  const folders = entries.filter((e) => e.attributes.type === "directory").map((e) => e.id);
  moveDialog(stand, state.dir.id, async (target) => {
    await eachSelected(async (entry) => {
      await api.move(entry.id, target.id);
      forget(entry.id);
    });
    toast(`Moved ${countOf(entries.length)} to ${displayName(target)}.`);
  }, folders);
}

function trashSelected() {
  return attempt(async () => {
    const entries = await eachSelected((entry) => api.trash(entry.id));
    toast(`Moved ${countOf(entries.length)} to the trash.`, {
      actionLabel: "Undo",
      onAction: () => attempt(async () => {
        for (const entry of entries) await api.restore(entry.id);
        await refresh();
        toast(`Put ${countOf(entries.length)} back.`);
      }),
    });
  });
}

function restoreSelected() {
  return attempt(async () => {
    const entries = await eachSelected((entry) => api.restore(entry.id));
    toast(`Restored ${countOf(entries.length)}.`);
  });
}

function destroySelected() {
  const n = selection.size;
  confirmDialog({
    title: "Delete forever?", confirmLabel: "Delete forever", danger: true,
    message: `${countOf(n)} will be deleted for good, with all their versions. This cannot be undone.`,
    onConfirm: async () => {
      await eachSelected((entry) => api.destroy(entry.id));
      toast(`Deleted ${countOf(n)} for good.`);
    },
  });
}

function initSelection() {
  selection = new Selection({ rows: $("rows"), onChange: renderSelection });
  $("rows").addEventListener("click", (e) => selection.onClick(e));
  $("select-all").addEventListener("change", (e) => {
    if (e.target.checked) selection.set(selection.order());
    else selection.clear();
  });
  $("sel-download").addEventListener("click", downloadSelected);
  $("sel-move").addEventListener("click", moveSelected);
  $("sel-trash").addEventListener("click", trashSelected);
  $("sel-restore").addEventListener("click", restoreSelected);
  $("sel-destroy").addEventListener("click", destroySelected);
  $("sel-clear").addEventListener("click", () => selection.clear());
}

// -- keyboard focus across re-renders ------------------------------------------------
function focusMemo() {
  const el = document.activeElement;
  const tr = el?.closest?.("#rows tr");
  if (!tr) return null;
  const part = el.classList.contains("row-menu") ? ".row-menu" : ".name";
  return { el, id: tr.dataset.id, part, index: tr.rowIndex };
}

function restoreFocus(memo) {
  const rows = [...$("rows").rows];
  const same = rows.find((r) => r.dataset.id === memo.id);
  // The row is gone (trashed, moved): focus its neighbour, or the title.
  const target = same || rows[Math.min(memo.index - 1, rows.length - 1)];
  const el = target?.querySelector(memo.part) || $("crumbs-current");
  el.focus({ preventScroll: true });
}

// A menu stays open across a re-render while its entry is still listed.
function keepMenu(id) {
  const trigger = [...$("rows").rows].find((r) => r.dataset.id === id)?.querySelector(".row-menu");
  if (trigger) return moveMenuTo(trigger); // the same button (or its replacement): expanded, menu re-placed
  const hadFocus = document.getElementById("row-menu").contains(document.activeElement);
  closeMenu(false);
  if (hadFocus) $("crumbs-current").focus({ preventScroll: true });
}

function focusRow(id, part = ".name") {
  const tr = [...$("rows").rows].find((r) => r.dataset.id === id);
  tr?.querySelector(part)?.focus();
}

// -- actions -----------------------------------------------------------------------------
function toggleRowMenu(trigger) {
  if (menuIsOpenFor(trigger)) return closeMenu();
  const entry = state.children.find((c) => c.id === trigger.closest("tr").dataset.id);
  if (entry) openMenu(trigger, state.view === "trash" ? trashMenu(entry) : filesMenu(entry));
}

function filesMenu(entry) {
  const isDir = entry.attributes.type === "directory";
  const items = [];
  if (isDir) items.push({ label: "Open", icon: "open", onSelect: () => { location.hash = dirHref(entry.id); } });
  else items.push({ label: "Download", icon: "download", href: api.downloadUrl(entry.id) });
  items.push({ label: "Rename", icon: "pencil", shortcut: "F2", onSelect: () => renameEntry(entry) });
  items.push({ label: "Move", icon: "move", onSelect: () => moveEntry(entry) });
  if (!isDir) items.push({ label: "Versions", icon: "history", onSelect: () => showVersions(entry) });
  items.push({
    label: "Move to trash", icon: "trash", danger: true, shortcut: "Delete", onSelect: () => trashEntry(entry),
  });
  return items;
}

function trashMenu(entry) {
  return [
    { label: "Restore", icon: "restore", onSelect: () => restoreEntry(entry) },
    { label: "Delete forever", icon: "trash", danger: true, onSelect: () => destroyEntry(entry) },
  ];
}

function newFolder() {
  const parent = state.dir;
  promptDialog({
    title: "New folder", label: "Folder name", submitLabel: "Create",
    onSubmit: async (name) => {
      const dir = await api.createDir(parent.id, name);
      await refresh();
      focusRow(dir.id);
      toast(`Created the folder “${name}”.`);
    },
  });
}

function renameEntry(entry) {
  const old = entry.attributes.name;
  const isDir = entry.attributes.type === "directory";
  promptDialog({
    title: `Rename “${old}”`, label: "New name", value: old, submitLabel: "Rename",
    selectLength: stemLength(old, isDir),
    onSubmit: async (name) => {
      if (name === old) return;
      await api.rename(entry.id, name);
      forget(entry.id); // a renamed folder's cached name is stale
      await refresh();
      toast(`Renamed “${old}” to “${name}”.`);
    },
  });
}

function moveEntry(entry) {
  moveDialog(entry, entry.attributes.dir_id, async (target) => {
    await api.move(entry.id, target.id);
    forget(entry.id);
    await refresh();
    toast(`Moved “${entry.attributes.name}” to ${displayName(target)}.`);
  });
}

function showVersions(entry) {
  versionsDialog(entry, (version) => {
    refresh();
    toast(`Restored the version of ${formatDate(version.attributes.updated_at)}.`);
  });
}

// Run an action outside a dialog: errors become an alert toast.
async function attempt(task) {
  try {
    await task();
  } catch (err) {
    toast(actionMessage(err), { error: true });
  }
}

function trashEntry(entry) {
  const name = entry.attributes.name;
  return attempt(async () => {
    await api.trash(entry.id);
    await refresh();
    toast(`Moved “${name}” to the trash.`, {
      actionLabel: "Undo",
      onAction: () => attempt(async () => {
        await api.restore(entry.id);
        await refresh();
        toast(`Put “${name}” back.`);
      }),
    });
  });
}

function restoreEntry(entry) {
  return attempt(async () => {
    const node = await api.restore(entry.id);
    await refresh();
    const where = entry.attributes.restore_path || "/";
    toast(`Restored “${node.attributes.name}” to ${where === "/" ? "My files" : where}.`);
  });
}

function destroyEntry(entry) {
  const name = entry.attributes.name;
  confirmDialog({
    title: "Delete forever?", confirmLabel: "Delete forever", danger: true,
    message: `“${name}” will be deleted for good, with all its versions. This cannot be undone.`,
    onConfirm: async () => {
      await api.destroy(entry.id);
      await refresh();
      toast(`Deleted “${name}” for good.`);
    },
  });
}

function emptyTrash() {
  const n = state.children.length;
  confirmDialog({
    title: "Empty the trash?", confirmLabel: "Empty trash", danger: true,
    message: `The ${n} item${n > 1 ? "s" : ""} in the trash will be deleted for good. This cannot be undone.`,
    onConfirm: async () => {
      await api.emptyTrash();
      await refresh();
      toast("Emptied the trash.");
    },
  });
}

// F2 renames and Delete trashes the focused row.
function onRowKey(event) {
  if (event.key === "a" && (event.ctrlKey || event.metaKey) && !event.altKey) {
    selection.set(selection.order()); // every row shown
    event.preventDefault();
    return;
  }
  if (event.key === "Escape" && selection.size) {
    selection.clear();
    return;
  }
  const tr = event.target.closest("tr");
  if (!tr || state.view !== "files" || event.altKey || event.ctrlKey || event.metaKey) return;
  const entry = state.children.find((c) => c.id === tr.dataset.id);
  if (!entry) return;
  if (event.key === "F2") renameEntry(entry);
  else if (event.key === "Delete") trashEntry(entry);
  else return;
  event.preventDefault();
}

// -- uploads: the file picker and drag and drop ----------------------------------------------
function initUploads() {
  let refreshTimer = null;
  const uploads = new Uploads({
    onUploaded: (dirId) => {
      updateStorage(); // wherever it went (a folder upload fills folders not shown)
      if (state.view !== "files" || state.dir?.id !== dirId) return;
      clearTimeout(refreshTimer); // several uploads finishing together: one reload
      refreshTimer = setTimeout(refresh, 150);
    },
  });
  const destination = () => ({ id: state.dir.id, name: displayName(state.dir) });
  const input = $("upload-input");
  $("upload-button").addEventListener("click", () => input.click());
  const folderInput = $("folder-input");
  $("upload-folder-button").addEventListener("click", () => folderInput.click());
  folderInput.addEventListener("change", () => {
    const picked = pickedFiles(folderInput.files);
    folderInput.value = "";
    if (picked.length && state.dir) uploadTree(uploads, destination(), picked, []);
  });
  input.addEventListener("change", () => {
    if (input.files.length && state.dir) uploads.add([...input.files], destination());
    input.value = "";
  });
  initDrop(uploads, destination);
}

function initDrop(uploads, destination) {
  const overlay = $("drop-overlay");
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
  const hide = () => {
    depth = 0;
    overlay.hidden = true;
  };
  document.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    if (state.view === "files" && state.dir) {
      $("drop-target").textContent = displayName(state.dir);
      overlay.hidden = false;
    }
  });
  document.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); // without this the browser would open the file and leave the page
    e.dataTransfer.dropEffect = state.view === "files" ? "copy" : "none";
  });
  document.addEventListener("dragleave", (e) => {
    if (hasFiles(e) && --depth <= 0) hide();
  });
  document.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    hide();
    if (state.view !== "files" || !state.dir) {
      toast("Open a folder of My files to upload there.", { error: true });
      return;
    }
    const { files, folders } = droppedFiles(e.dataTransfer);
    if (files.length) uploads.add(files, destination());
    if (folders.length) {
      const target = destination();
      droppedTree(folders).then(({ files: inside, dirs }) => uploadTree(uploads, target, inside, dirs))
        .catch((err) => toast(`The folder could not be read: ${err.message}`, { error: true }));
    }
  });
}

// Files of a drop, and its folders as file system entries (walked by folders.js).
function droppedFiles(transfer) {
  const files = [];
  const folders = [];
  const items = [...(transfer.items || [])].filter((item) => item.kind === "file");
  if (!items.length) return { files: [...transfer.files], folders };
  for (const item of items) {
    const entry = item.webkitGetAsEntry?.();
    const file = item.getAsFile();
    if (entry?.isDirectory) folders.push(entry);
    else if (file) files.push(file);
  }
  return { files, folders };
}

// A folder's tree: its directories first, then each file queued for its own directory.
async function uploadTree(uploads, target, files, dirs) {
  try {
    const made = await makeTree(target.id, target.name, [...dirs, ...files.map((f) => dirOf(f.path))].filter(Boolean));
    const byDir = new Map();
    for (const { file, path } of files) {
      const dir = dirOf(path);
      if (!byDir.has(dir)) byDir.set(dir, []);
      byDir.get(dir).push(file);
    }
    for (const [dir, list] of byDir) uploads.add(list, made.get(dir));
    if (state.view === "files" && state.dir?.id === target.id) refresh(); // the new folders, at once
  } catch (err) {
    toast(`The folder could not be made: ${actionMessage(err)}`, { error: true });
  }
}

// -- start -------------------------------------------------------------------------------------
// Results as you type: the address follows (#/search/<text>), one history entry per search.
function initSearch() {
  const box = $("search");
  let timer = null;
  let before = "#/"; // where a cleared search goes back to
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const text = box.value.trim();
      if (!text) {
        if (state.view === "search") location.hash = before;
        return;
      }
      const hash = `#/search/${encodeURIComponent(text)}`;
      if (state.view === "search") {
        history.replaceState(null, "", hash);
        load("search", text);
      } else {
        before = location.hash || "#/";
        location.hash = hash;
      }
    }, 200);
  });
  $("search-form").addEventListener("submit", (e) => e.preventDefault());
  box.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && box.value) {
      box.value = "";
      box.dispatchEvent(new Event("input"));
    }
  });
}

function init() {
  initSearch();
  initSelection();
  initMenu();
  initSort();
  initUploads();
  initThumbs({ expired: refresh });
  initLayout(renderRows);
  initAvatar();
  $("rows").addEventListener("click", onNameClick);
  $("new-folder").addEventListener("click", () => state.dir && newFolder());
  $("empty-trash").addEventListener("click", emptyTrash);
  $("rows").addEventListener("keydown", onRowKey);
  window.addEventListener("hashchange", route);
  route();
}

init();
