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
        var wrapper = button.closest(".phone");
        wrapper.querySelector(".phone-value").textContent = data.phone;
        button.remove();
      })
      .catch(function () { button.textContent = "×"; });
  });
})();
