// The board refreshes itself: every 30 s (and when the tab comes back into view) it fetches
// its body and swaps it in only when something changed, keeping the page's scroll position.
// It waits while the advisor is pressing a button or typing.
(function () {
  var board = document.getElementById("board");
  if (!board) return;
  var url = board.dataset.refreshUrl;
  var every = (parseInt(board.dataset.refreshSeconds, 10) || 30) * 1000;
  var last = null;  // the body as last fetched
  var busy = false;

  function refresh() {
    if (busy || document.visibilityState !== "visible") return;
    var active = document.activeElement;
    if (active && board.contains(active) && active.matches("input, select, textarea")) return;
    busy = true;
    fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        if (response.redirected || !response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        if (html !== last) {
          var x = window.scrollX, y = window.scrollY;
          board.innerHTML = html;
          last = html;
          window.scrollTo(x, y);
          board.dispatchEvent(new CustomEvent("board:refreshed"));
        }
        board.dataset.refreshedAt = String(Date.now());
      })
      .catch(function () { /* signed out or offline: the next round tries again */ })
      .finally(function () { busy = false; });
  }

  board.addEventListener("submit", function () { busy = true; });
  setInterval(refresh, every);
  document.addEventListener("visibilitychange", refresh);
})();
