// xterm.js's DOM renderer writes its theme and cell sizes into <style>
// elements it creates. The hub's Content-Security-Policy allows no inline
// style (style-src 'self'), so the browser would refuse them: console errors
// and a terminal without its colours. While a terminal is open, the page's
// style elements are made stand-ins whose text goes to a constructed
// stylesheet instead, which CSP does not govern, and style attributes of the
// elements made meanwhile are set through the CSSOM, which CSP allows.

const XHTML = 'http://www.w3.org/1999/xhtml';
let users = 0;
let restore: (() => void) | undefined;

/** A hidden element standing in for a <style>: its text feeds `sheet`; removing it drops the sheet. */
function standIn(doc: Document, make: (tag: string) => HTMLElement): HTMLElement {
  const sheet = new CSSStyleSheet();
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  const element = make('template');
  let text = '';
  Object.defineProperty(element, 'textContent', {
    get: () => text,
    set: (value: string | null) => {
      text = value ?? '';
      sheet.replaceSync(text);
    },
  });
  element.remove = () => {
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => s !== sheet);
    Element.prototype.remove.call(element);
  };
  return element;
}

/**
 * setAttribute, but a `style` attribute is set through the CSSOM, which CSP
 * allows (xterm.js sets true colours that way).
 */
function setAttributeByCssom(this: HTMLElement, name: string, value: string): void {
  if (name.toLowerCase() === 'style') this.style.cssText = value;
  else Element.prototype.setAttribute.call(this, name, value);
}

/**
 * Routes `doc.createElement('style')` to constructed stylesheets, and
 * style attributes to the CSSOM, until the returned function is called (counted, so terminals may overlap).
 */
export function useConstructedStyles(doc: Document): () => void {
  users += 1;
  if (users === 1) {
    // The same element createElement makes in an HTML document, without calling the method being replaced.
    const original = (tag: string): HTMLElement => doc.createElementNS(XHTML, tag);
    const replacement = (tag: string): HTMLElement => {
      if (tag.toLowerCase() === 'style') return standIn(doc, original);
      const element = original(tag);
      element.setAttribute = setAttributeByCssom;
      return element;
    };
    Object.defineProperty(doc, 'createElement', { value: replacement, configurable: true, writable: true });
    restore = () => { Reflect.deleteProperty(doc, 'createElement'); };
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    users -= 1;
    if (users === 0) restore?.();
  };
}
