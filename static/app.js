// Only what cannot be an attribute. No framework.
// After a swap that brought an error summary (a 422), move focus to it, so keyboard and
// screen-reader users hear what went wrong. afterSettle: the new content is in the document.
document.addEventListener("htmx:afterSettle", function (event) {
  var root = event.detail.elt && event.detail.elt.isConnected ? event.detail.elt : document;
  var summary = root.querySelector ? root.querySelector(".error-summary") : null;
  if (!summary) summary = document.querySelector(".error-summary");
  if (summary && event.detail.xhr && event.detail.xhr.status === 422) summary.focus();
});
