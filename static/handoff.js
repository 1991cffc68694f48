// The work session page (issue 5): nothing typed is lost when the connection drops.
// A step, the notes or a photo whose save could not reach the server says so on the spot and is
// sent again as soon as the browser is back online (and every 15 s while it says it is online);
// leaving the page while something is unsaved asks first. The message comes from the page, in
// the reader's language (data-unsaved on the session's section). Without JS the forms post.
(function () {
  "use strict";
  if (window.eskaleraUnsavedSaves) return;  // loaded once, also when boosted pages bring it again
  window.eskaleraUnsavedSaves = true;
  var pending = new Set();

  function sessionOf(elt) {
    return elt && elt.closest ? elt.closest("[data-unsaved]") : null;
  }

  function formOf(elt) {
    return elt && elt.closest ? (elt.tagName === "FORM" ? elt : elt.closest("form")) : null;
  }

  function showUnsaved(form) {
    var root = sessionOf(form);
    if (!root) return;
    var note = form.querySelector(".unsaved");
    if (!note) {
      note = document.createElement("p");
      note.className = "unsaved errors";
      note.setAttribute("role", "alert");
      var status = form.querySelector(".step-status");
      (status || form).appendChild(note);
    }
    note.textContent = root.getAttribute("data-unsaved");
  }

  function resend() {
    if (!navigator.onLine) return;
    var forms = Array.from(pending);
    pending.clear();
    forms.forEach(function (form) {
      if (form.isConnected && window.htmx) window.htmx.trigger(form, "change");
    });
  }

  document.addEventListener("htmx:sendError", function (event) {
    var form = formOf(event.detail.elt);
    if (form && sessionOf(form)) {
      pending.add(form);
      showUnsaved(form);
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = formOf(event.detail.elt);
    var xhr = event.detail.xhr;
    if (form && xhr && xhr.status) {  // the server answered (saved, or said what is wrong)
      pending.delete(form);
      var note = form.querySelector(".unsaved");
      if (note) note.remove();
    }
  });

  window.addEventListener("online", resend);
  window.setInterval(resend, 15000);
  window.addEventListener("beforeunload", function (event) {
    if (pending.size) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
