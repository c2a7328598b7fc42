// huntbrief web view: copy buttons. Served from /static under a CSP that forbids inline script.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  return new Promise(function (resolve, reject) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    if (ok) { resolve(); } else { reject(new Error("copy refused")); }
  });
}

function flash(button, label) {
  var original = button.dataset.label || button.textContent;
  button.dataset.label = original;
  button.textContent = label;
  window.setTimeout(function () { button.textContent = original; }, 1500);
}

document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) { return; }
  var source = document.getElementById(button.dataset.copy);
  if (!source) { return; }
  copyText(source.textContent.replace(/\n+$/, "")).then(
    function () { button.classList.add("copied"); flash(button, "Copied ✓"); },
    function () { flash(button, "Copy failed"); }
  );
});
