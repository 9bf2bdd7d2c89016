// Several rows selected at once: checkboxes, shift-click for a range, ctrl/cmd-click to add
// or remove one, Ctrl+A for all, Escape to clear. The ids live here; drive.js asks.

export class Selection {
  constructor({ rows, onChange }) {
    this.ids = new Set();
    this.anchor = null; // the id a shift-click range starts from
    this.rows = rows; // the <tbody>
    this.onChange = onChange;
  }

  has(id) {
    return this.ids.has(id);
  }

  get size() {
    return this.ids.size;
  }

  list() {
    return [...this.ids];
  }

  order() {
    return [...this.rows.rows].map((tr) => tr.dataset.id);
  }

  set(ids, anchor = this.anchor) {
    this.ids = new Set(ids);
    this.anchor = anchor;
    this.onChange();
  }

  toggle(id) {
    const next = new Set(this.ids);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    this.set(next, id);
  }

  // From the anchor to id, in the order shown, added to what is selected.
  extend(id) {
    const order = this.order();
    const from = order.indexOf(this.anchor);
    const to = order.indexOf(id);
    if (from < 0 || to < 0) return this.toggle(id);
    const [lo, hi] = from < to ? [from, to] : [to, from];
    this.set([...this.ids, ...order.slice(lo, hi + 1)], this.anchor);
  }

  clear() {
    if (this.ids.size) this.set([], null);
  }

  // After a re-render: forget rows that went away.
  prune() {
    const shown = new Set(this.order());
    const kept = this.list().filter((id) => shown.has(id));
    if (kept.length !== this.ids.size) this.set(kept, shown.has(this.anchor) ? this.anchor : null);
  }

  // A click on a checkbox, or on a row outside its links and buttons.
  onClick(event) {
    const tr = event.target.closest("tr");
    if (!tr) return;
    const onBox = event.target.matches("input.row-check");
    if (!onBox && event.target.closest("a, button, input")) return;
    const id = tr.dataset.id;
    if (event.shiftKey && this.anchor) this.extend(id);
    else if (onBox || event.ctrlKey || event.metaKey) this.toggle(id);
    else this.set([id], id);
    if (onBox) event.target.checked = this.has(id); // the set, not the click, decides
  }
}
