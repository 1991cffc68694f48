// Only what cannot be an attribute. No framework.
// Focus the error summary after a 422 swap, so keyboard and screen-reader users hear it.
document.addEventListener("htmx:afterSwap", function (event) {
  var summary = event.detail.target.querySelector && event.detail.target.querySelector(".error-summary");
  if (summary) summary.focus();
});
