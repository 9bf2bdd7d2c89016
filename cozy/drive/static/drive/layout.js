// List or grid: the grid shows the files as cards with bigger thumbnails, for folders of
// photos. It is the same table restyled (drive.css), so rows, selection, menus and the
// in-place refreshes work the same in both. The choice is remembered in this browser.

const KEY = "cozy.drive.layout";

export const currentLayout = () => (document.getElementById("files").classList.contains("grid") ? "grid" : "list");

// The thumbnail size a row asks for in this layout.
export const thumbFormat = () => (currentLayout() === "grid" ? "small" : "tiny");

function apply(layout) {
  const grid = layout === "grid";
  document.getElementById("files").classList.toggle("grid", grid);
  document.getElementById("layout-toggle").setAttribute("aria-pressed", String(grid));
}

// onChange(): render the rows again (their thumbnails change size).
export function initLayout(onChange) {
  let saved = "list";
  try {
    saved = localStorage.getItem(KEY) === "grid" ? "grid" : "list";
  } catch {
    /* storage refused: the list */
  }
  apply(saved);
  document.getElementById("layout-toggle").addEventListener("click", () => {
    const next = currentLayout() === "grid" ? "list" : "grid";
    apply(next);
    try {
      localStorage.setItem(KEY, next);
    } catch {
      /* not remembered, still applied */
    }
    onChange();
  });
}
