// Updating the page in place: a refresh changes only what changed, so that a row the
// user is clicking, a focused button or an open menu's trigger stays the same element.

// Make old look like fresh, keeping old (and its listeners) wherever the tags agree.
export function morph(old, fresh) {
  if (old.nodeType !== fresh.nodeType || old.nodeName !== fresh.nodeName) {
    old.replaceWith(fresh);
    return fresh;
  }
  if (old.nodeType === Node.TEXT_NODE) {
    if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
    return old;
  }
  if (old.nodeType !== Node.ELEMENT_NODE) return old;
  syncAttributes(old, fresh);
  const olds = [...old.childNodes];
  const freshes = [...fresh.childNodes];
  if (olds.length !== freshes.length) {
    old.replaceChildren(...freshes);
    return old;
  }
  olds.forEach((child, i) => morph(child, freshes[i]));
  return old;
}

// An element marked data-morph-keep keeps the attributes its fresh copy lacks: a script owns
// them (thumbs.js sets a thumbnail's src and state once, a refresh must not take them away).
function syncAttributes(old, fresh) {
  const keep = fresh.hasAttribute("data-morph-keep");
  for (const { name } of [...old.attributes]) {
    if (!keep && !fresh.hasAttribute(name)) old.removeAttribute(name);
  }
  for (const { name, value } of fresh.attributes) {
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
}

// Children of parent become the fresh elements, in order; an element with the same key
// (keyOf) is kept and morphed, and nothing is moved that is already in its place.
export function syncChildren(parent, fresh, keyOf) {
  const kept = new Map([...parent.children].map((el) => [keyOf(el), el]));
  const wanted = fresh.map((el) => {
    const old = kept.get(keyOf(el));
    if (!old) return el;
    kept.delete(keyOf(el));
    return morph(old, el);
  });
  for (const el of kept.values()) el.remove();
  wanted.forEach((el, i) => {
    if (parent.children[i] !== el) parent.insertBefore(el, parent.children[i] || null);
  });
}
