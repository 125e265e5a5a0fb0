// lophoc — renders the LaTeX math of a page (spans made by the server from $…$ and $$…$$)
// with the vendored KaTeX, as MathML: no fonts or style sheet to download on 3G, and the
// page's strict style policy holds. Loaded only on pages that have math.
const spans = document.querySelectorAll("span.math");
if (spans.length) {
  const s = document.createElement("script");
  s.src = "/static/vendor/katex.min.js";
  s.onload = () => {
    for (const el of spans) {
      try {
        window.katex.render(el.textContent, el, {
          displayMode: el.classList.contains("math-display"),
          output: "mathml",
          throwOnError: false,
        });
      } catch (_) { /* leave the source visible */ }
    }
  };
  document.head.appendChild(s);
}
