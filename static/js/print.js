// The repair order prints itself when opened (?noprint shows it without the dialog).
window.addEventListener("load", function () {
  if (!/noprint/.test(location.search)) window.print();
});
