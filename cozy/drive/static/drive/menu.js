// The row actions menu (a menu button pattern) and the toast messages.

import { h, icon } from "./dom.js";

const menu = () => document.getElementById("row-menu");
let openedBy = null;

// items: [{label, icon, onSelect, href, download, danger, shortcut}]
export function openMenu(trigger, items) {
  closeMenu(false);
  const el = menu();
  el.replaceChildren(...items.map(menuItem));
  el.setAttribute("aria-label", trigger.getAttribute("aria-label") || "Actions");
  el.hidden = false;
  openedBy = trigger;
  trigger.setAttribute("aria-expanded", "true");
  place(el, trigger);
  el.querySelector("[role=menuitem]")?.focus();
}

function menuItem(item) {
  const props = { role: "menuitem", tabIndex: -1, "aria-keyshortcuts": item.shortcut };
  const content = [icon(item.icon), h("span", {}, item.label)];
  const cls = item.danger ? "menu-item.danger" : "menu-item";
  if (item.href) {
    return h(`a.${cls}`, { ...props, href: item.href, download: item.download ?? "", onclick: () => closeMenu() },
      ...content);
  }
  return h(`button.${cls}`, {
    ...props, type: "button",
    onclick: () => {
      closeMenu(true); // focus back on the trigger first, so a dialog returns there on close
      item.onSelect();
    },
  }, ...content);
}

// Focus goes back to the trigger unless told otherwise (a click elsewhere moves it there).
export function closeMenu(restoreFocus = menu().contains(document.activeElement)) {
  const el = menu();
  if (el.hidden) return;
  el.hidden = true;
  openedBy?.setAttribute("aria-expanded", "false");
  if (restoreFocus && openedBy?.isConnected) openedBy.focus();
  openedBy = null;
}

// Below the trigger, right-aligned; above it when there is no room below.
function place(el, trigger) {
  const rect = trigger.getBoundingClientRect();
  const width = el.offsetWidth;
  const height = el.offsetHeight;
  const left = Math.max(8, Math.min(rect.right - width, window.innerWidth - width - 8));
  const below = rect.bottom + 4;
  const top = below + height > window.innerHeight - 8 ? Math.max(8, rect.top - height - 4) : below;
  el.style.left = `${left}px`;
  el.style.top = `${top}px`;
}

function onMenuKey(event) {
  const items = [...menu().querySelectorAll("[role=menuitem]")];
  const index = items.indexOf(document.activeElement);
  const go = (i) => items[(i + items.length) % items.length]?.focus();
  const keys = {
    ArrowDown: () => go(index + 1), ArrowUp: () => go(index - 1),
    Home: () => go(0), End: () => go(items.length - 1),
    Escape: () => closeMenu(true), Tab: () => closeMenu(true),
  };
  if (!keys[event.key]) return;
  if (event.key !== "Tab") event.preventDefault();
  keys[event.key]();
}

export function initMenu() {
  menu().addEventListener("keydown", onMenuKey);
  document.addEventListener("pointerdown", (event) => {
    if (!menu().hidden && !menu().contains(event.target) && event.target.closest("[aria-haspopup]") !== openedBy) {
      closeMenu(false);
    }
  });
  // The layout moves (scrolling, a panel folding away): the menu follows its button.
  const follow = () => {
    if (!menu().hidden && openedBy?.isConnected) place(menu(), openedBy);
  };
  window.addEventListener("resize", follow);
  window.addEventListener("scroll", follow, true);
  new ResizeObserver(follow).observe(document.body);
}

export function menuIsOpenFor(trigger) {
  return !menu().hidden && openedBy === trigger;
}

// The button whose menu is open, if any.
export function menuTrigger() {
  return menu().hidden ? null : openedBy;
}

// The trigger was re-rendered: the open menu now belongs to its replacement.
export function moveMenuTo(trigger) {
  if (menu().hidden) return;
  openedBy = trigger;
  trigger.setAttribute("aria-expanded", "true");
  place(menu(), trigger);
}

// A short message at the bottom; an optional action button (e.g. Undo).
export function toast(message, { actionLabel, onAction, error = false } = {}) {
  const box = document.getElementById("toasts");
  const close = () => el.remove();
  const el = h(`div.toast${error ? ".toast-error" : ""}`, { role: error ? "alert" : null },
    h("p", {}, message),
    actionLabel ? h("button.btn.btn-small.btn-quiet", { type: "button", onclick: () => { close(); onAction(); } },
      actionLabel) : null,
    h("button.icon-btn", { type: "button", "aria-label": "Dismiss message", onclick: close }, icon("close")));
  box.append(el);
  while (box.children.length > 2) box.firstElementChild.remove();
  // Leave it while the pointer or focus is on it, so the action stays reachable.
  const timer = () => setTimeout(() => {
    if (el.matches(":hover, :focus-within")) timer();
    else close();
  }, error ? 10000 : 6000);
  timer();
}
