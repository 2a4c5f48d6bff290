// Typesets the math of each page with KaTeX (docs/hooks.py adds it to the
// site from the npm package; nothing is fetched). pymdownx.arithmatex marks
// math as \( \) inline and \[ \] displayed; tutorials write $ $ and $$ $$.
document.addEventListener("DOMContentLoaded", function () {
  renderMathInElement(document.body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
    ],
    throwOnError: true,
    ignoredClasses: ["highlight", "language-python", "language-text", "language-sh"],
  });
});
