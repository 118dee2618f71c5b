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

// The delivery form starts from the estimate: inputs <input class="js-sum"
// data-sum-into="ID"> fill the field ID with their sum once one of them is typed in, until
// that field is changed by hand (a discount).
(function () {
  var edited = {};
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.dataset && target.dataset.sumInto === undefined && target.id) {
      edited[target.id] = true;
      return;
    }
    if (!target.matches || !target.matches("input.js-sum")) return;
    var intoId = target.dataset.sumInto;
    var into = document.getElementById(intoId);
    if (!into || edited[intoId]) return;
    var total = 0;
    document.querySelectorAll('input.js-sum[data-sum-into="' + intoId + '"]').forEach(function (part) {
      var value = parseFloat(part.value);
      if (!isNaN(value)) total += value;
    });
    into.value = total.toFixed(2);
  });
})();
