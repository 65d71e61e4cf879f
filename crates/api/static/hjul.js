// hjul's dashboard works without this file; with it, the agreement editor shows the
// weights' total as they are typed and keeps the draft on the server every few seconds,
// and the midway form shows the score as the grades are chosen, an upload shows how
// much of its file has been sent, and a button that ends something asks first.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "da";

  // A button that ends something (a deputy) asks first; without script it does not.
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (e) {
      if (!window.confirm(button.dataset.confirm)) { e.preventDefault(); }
    });
  });

  // An upload with a progress bar: the form goes by XMLHttpRequest, whose upload events
  // say how far it is, and the page the server answers with replaces this one, as after
  // an ordinary submit. Without script the form posts as usual.
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    var bar = document.getElementById(form.dataset.progress);
    if (!bar || !window.XMLHttpRequest || !window.FormData) { return; }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      bar.parentElement.hidden = false;
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      xhr.upload.addEventListener("progress", function (p) {
        if (p.lengthComputable) { bar.value = Math.round(100 * p.loaded / p.total); }
      });
      xhr.addEventListener("load", function () {
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      // The connection failed: the ordinary submit says why, as the browser would.
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  });
  function pct(value) {
    var s = value.toFixed(1);
    return (lang === "da" ? s.replace(".", ",") : s) + " %";
  }

  var editor = document.getElementById("agreement-editor");
  if (editor) {
    var total = document.getElementById("weight-total");
    var weights = function () {
      var sum = 0;
      editor.querySelectorAll("input.weight").forEach(function (i) {
        var n = parseInt(i.value, 10);
        if (!isNaN(n)) { sum += n; }
      });
      if (total) {
        total.textContent = String(sum);
        var ok = document.getElementById("total-ok");
        var off = document.getElementById("total-off");
        if (ok) { ok.hidden = sum !== 100; }
        if (off) { off.hidden = sum === 100; }
      }
    };
    editor.addEventListener("input", weights);
    weights();

    // The draft goes to the server when it changed, every few seconds.
    var status = document.getElementById("autosave-status");
    var changed = false;
    editor.addEventListener("input", function () { changed = true; });
    editor.addEventListener("change", function () { changed = true; });
    window.setInterval(function () {
      if (!changed) { return; }
      changed = false;
      var data = new URLSearchParams(new FormData(editor));
      data.set("op", "autosave");
      fetch(editor.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (r) {
        if (!status) { return; }
        if (r.status === 204) {
          status.textContent = status.dataset.saved || (lang === "da" ? "Kladden er gemt." : "The draft is saved.");
        } else if (r.status === 422) {
          status.textContent = lang === "da"
            ? "Kladden er ikke gemt: et felt er længere, end aftalen kan rumme. Tryk »Gem kladde« for at se hvilket."
            : "The draft is not saved: a field is longer than the agreement can hold. Press »Save draft« to see which.";
        } else if (r.status === 401) {
          status.textContent = lang === "da"
            ? "Du er logget ud. Din kladde er gemt; log ind igen for at fortsætte."
            : "You are signed out. Your draft is kept; sign in again to go on.";
        }
      }).catch(function () { changed = true; });
    }, 8000);
  }

  var midway = document.getElementById("midway-form");
  if (midway) {
    var score = document.getElementById("score");
    var update = function () {
      var sum = 0;
      midway.querySelectorAll("fieldset.grade").forEach(function (f) {
        var w = parseFloat(f.dataset.weight);
        var checked = f.querySelector("input[type=radio]:checked");
        if (checked && !isNaN(w)) { sum += w * parseFloat(checked.dataset.percent) / 100; }
      });
      if (score) { score.textContent = pct(sum); }
    };
    midway.addEventListener("change", update);
  }
})();
