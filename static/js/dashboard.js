/* The manager's dashboard: ECharts from the vendored file, data from the page (json_script),
   every bar and point a link to the rows behind it. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  ["id_start", "id_end"].forEach(function (id) {
    var field = document.getElementById(id);
    if (field) { field.addEventListener("change", function () { document.getElementById("id_preset").value = "custom"; }); }
  });
  var locale = window.SHOPCRM_LANG === "en" ? "EN" : "ZH";
  var en = locale === "EN";
  var t = function (zh, english) { return en ? english : zh; };
  var charts = [];
  window.SHOPCRM_CHARTS_BY_ID = {};

  function make(id, option, onClick) {
    var node = document.getElementById(id);
    if (!node) { return; }
    var chart = echarts.init(node, null, { locale: locale, renderer: "canvas" });
    chart.setOption(Object.assign({ animation: false, tooltip: { trigger: "axis" }, grid: { left: 40, right: 40, top: 30, bottom: 40, containLabel: true } }, option));
    if (onClick) { chart.on("click", onClick); }
    charts.push(chart);
    window.SHOPCRM_CHARTS_BY_ID[id] = chart;
  }
  function pct(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }
  function go(url) { window.location.href = url; }
  function monthRange(month) {
    var parts = month.split("-"), y = +parts[0], m = +parts[1];
    var last = new Date(y, m, 0).getDate();
    return "start=" + month + "-01&end=" + month + "-" + (last < 10 ? "0" : "") + last;
  }

  make("chart-months", {
    legend: { data: ["CSI", "NPS"] },
    xAxis: { type: "category", data: data.byMonth.map(function (r) { return r.month; }) },
    yAxis: [{ type: "value", name: "CSI", max: 100 }, { type: "value", name: "NPS", min: -100, max: 100 }],
    series: [
      { name: "CSI", type: "line", data: data.byMonth.map(function (r) { return r.csi === null ? null : +r.csi.toFixed(1); }) },
      { name: "NPS", type: "bar", yAxisIndex: 1, data: data.byMonth.map(function (r) { return r.nps === null ? null : +r.nps.toFixed(1); }) }
    ]
  }, function (p) { go("/surveys/?" + monthRange(data.byMonth[p.dataIndex].month)); });

  make("chart-categories", {
    xAxis: { type: "category", data: data.categories.map(function (r) { return r.label; }), axisLabel: { interval: 0, rotate: 30 } },
    yAxis: [{ type: "value", name: t("件数", "Count") }, { type: "value", name: "%", max: 100 }],
    series: [
      { name: t("件数", "Count"), type: "bar", data: data.categories.map(function (r) { return r.count; }) },
      { name: t("累计占比", "Cumulative share"), type: "line", yAxisIndex: 1, data: data.categories.map(function (r) { return pct(r.cumulative_share); }) }
    ]
  }, function (p) { go(data.links.complaints + "&category=" + data.categories[p.dataIndex].category); });

  make("chart-lost-reasons", {
    xAxis: { type: "category", data: data.lostReasons.map(function (r) { return r.label; }), axisLabel: { interval: 0, rotate: 30 } },
    yAxis: [{ type: "value", name: t("次数", "Calls") }, { type: "value", name: "%", max: 100 }],
    series: [
      { name: t("次数", "Calls"), type: "bar", data: data.lostReasons.map(function (r) { return r.count; }) },
      { name: t("累计占比", "Cumulative share"), type: "line", yAxisIndex: 1, data: data.lostReasons.map(function (r) { return pct(r.cumulative_share); }) }
    ]
  }, function (p) { go(data.lostReasons[p.dataIndex].link); });

  make("chart-advisors", {
    xAxis: { type: "value", max: 100 },
    yAxis: { type: "category", inverse: true, data: data.advisors.map(function (r) { return r.name + " (" + r.responses + ")"; }) },
    series: [{ name: "CSI", type: "bar", data: data.advisors.map(function (r) { return +r.csi.toFixed(1); }) }]
  }, function (p) { go(data.links.surveys + "&advisor=" + data.advisors[p.dataIndex].advisor_id); });

  make("chart-dimensions", {
    xAxis: { type: "category", data: data.dimensions.map(function (r) { return r.label; }) },
    yAxis: { type: "value", max: 100 },
    series: [{ name: t("平均得分", "Mean points"), type: "bar", data: data.dimensions.map(function (r) { return r.mean === null ? null : +r.mean.toFixed(1); }) }]
  }, function () { go(data.links.surveys); });

  make("chart-sla", {
    xAxis: { type: "category", data: data.sla.map(function (r) { return r.label; }) },
    yAxis: { type: "value", max: 100, name: "%" },
    series: [{ name: t("达标率", "Met"), type: "bar", data: data.sla.map(function (r) { return pct(r.rate); }) }]
  }, function () { go(data.links.complaints + "&overdue=on"); });

  make("chart-funnel", {
    tooltip: { trigger: "item" },
    series: [{ type: "funnel", sort: "none", top: 16, bottom: 16, left: "2%", width: "56%", minSize: "6%", labelLine: { length: 8 }, label: { formatter: "{b}\n{c}", fontSize: 11, lineHeight: 13 },
      data: data.funnel.map(function (r) { return { name: r.label, value: r.count }; }) }]
  }, function () { go(data.links.calls); });

  make("chart-churn", {
    legend: { data: [t("流失率", "Churn"), t("风险率", "At risk")] },
    xAxis: { type: "category", data: data.churn.map(function (r) { return r.as_of; }) },
    yAxis: { type: "value", name: "%" },
    series: [
      { name: t("流失率", "Churn"), type: "line", data: data.churn.map(function (r) { return pct(r.churn_rate); }) },
      { name: t("风险率", "At risk"), type: "line", data: data.churn.map(function (r) { return pct(r.at_risk_rate); }) }
    ]
  }, function (p) { go("/reports/customers/?as_of=" + data.churn[p.dataIndex].as_of + "&state=" + (p.seriesIndex ? "at_risk" : "lapsed")); });

  make("chart-bands", {
    xAxis: { type: "category", name: t("公里/日", "km/day"), nameLocation: "middle", nameGap: 26, data: data.bands.map(function (b) { return b.min_km + "–" + b.max_km; }) },
    yAxis: { type: "value", name: t("车辆", "Vehicles") },
    series: [{ name: t("车辆", "Vehicles"), type: "bar", data: data.bands.map(function (b) { return b.vehicles; }) }]
  }, function (p) { go(data.links.vehicles + "&band=" + p.dataIndex); });

  // The value pyramid is drawn as a pyramid: VIP at the narrow top, each tier below wider
  // (its rank sets the width; the tiers are fixed shares of the customers, METRICS.md, so
  // widths by count would always draw the same diamond); the label gives the customers.
  make("chart-tiers", {
    tooltip: { trigger: "item", formatter: function (p) { return p.name + ": " + p.data.customers; } },
    series: [{ type: "funnel", sort: "ascending", top: 16, bottom: 16, left: "2%", width: "56%", minSize: "12%", gap: 2, labelLine: { length: 8 },
      label: { formatter: function (p) { return p.name + "\n" + p.data.customers; }, fontSize: 11, lineHeight: 13 },
      data: data.tiers.map(function (r, rank) { return { name: r.label, value: rank + 1, customers: r.customers, tier: r.tier }; }) }]
  }, function (p) { go(data.links.customers + "&state=&tier=" + p.data.tier); });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  window.SHOPCRM_CHARTS = charts.length;
  document.documentElement.dataset.charts = charts.length;  // for tests: a selector, no eval
}());
