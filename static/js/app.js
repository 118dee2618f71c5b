// Reveal a masked phone number: one POST, which the server records.
(function () {
  function csrfToken() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".js-reveal-phone");
    if (!button) return;
    event.preventDefault();
    fetch(button.dataset.url, {method: "POST", headers: {"X-CSRFToken": csrfToken()}, credentials: "same-origin"})
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (data) {
        var value = button.closest(".phone").querySelector(".phone-value");
        if (data.e164) {
          // A tel: link, so a softphone or desk phone dials on click.
          var link = document.createElement("a");
          link.href = "tel:" + data.e164;
          link.className = "phone-dial";
          link.textContent = data.phone;
          value.replaceChildren(link);
        } else {
          value.textContent = data.phone;
        }
        button.remove();
      })
      .catch(function () { button.textContent = "×"; });
  });
})();

// Behaviour without inline handlers (the Content-Security-Policy allows no inline script):
// a <select class="js-submit-on-change"> submits its form; a checkbox
// <input class="js-check-all" data-name="x"> ticks every input[name=x].
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches("select.js-submit-on-change")) {
    target.form.submit();
  } else if (target.matches("input.js-check-all")) {
    document.querySelectorAll('input[name="' + target.dataset.name + '"]').forEach(function (box) {
      box.checked = target.checked;
    });
  }
});
