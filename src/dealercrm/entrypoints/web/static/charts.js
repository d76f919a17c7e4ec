// 分析 dashboards: draws each chart of the page from the report object embedded as JSON
// (#report-data, the same object /api/v1/reports/... answers; the credit page's exposure rows are only its
// chart's, the largest 20, its table being paged). Money arrives in fen.
(function () {
  "use strict";
  var source = document.getElementById("report-data");
  if (!source || !window.echarts) { return; }
  var report = JSON.parse(source.textContent);
  var yuan = function (fen) { return Math.round(fen) / 100; };
  var money = function (v) { return "¥" + Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2}); };
  var pick = function (rows, key) { return rows.map(function (r) { return r[key]; }); };
  var bar = function (names, series, opts) {
    return Object.assign({
      tooltip: {trigger: "axis"}, legend: {top: 0}, grid: {left: 60, right: 20, top: 36, bottom: 50, containLabel: true},
      xAxis: {type: "category", data: names, axisLabel: {rotate: names.length > 8 ? 40 : 0}},
      yAxis: series.map(function (s, i) { return {type: "value", name: s.axisName || "", position: i ? "right" : "left"}; })
        .filter(function (a, i, all) { return i === 0 || all[i].name !== all[0].name; }),
      series: series.map(function (s) { return Object.assign({type: "bar"}, s); })
    }, opts || {});
  };
  var charts = {
    "orders-by-month": function (r) {
      return bar(pick(r.by_month, "month"), [
        {name: "金额（元）", data: r.by_month.map(function (m) { return yuan(m.amount_fen); }), axisName: "元"},
        {name: "台数", type: "line", yAxisIndex: 1, data: pick(r.by_month, "units"), axisName: "台"}]);
    },
    "orders-by-region": function (r) {
      return {tooltip: {trigger: "item", valueFormatter: money}, legend: {bottom: 0, type: "scroll"},
        series: [{type: "pie", radius: ["35%", "65%"], data: r.by_region.map(function (x) { return {name: x.region, value: yuan(x.amount_fen)}; })}]};
    },
    "orders-by-model": function (r) {
      return bar(pick(r.by_model, "model"), [{name: "台数", data: pick(r.by_model, "units"), axisName: "台"}]);
    },
    "forecast-vs-actual": function (r) {
      var rows = r.forecast.regions;
      return bar(pick(rows, "region"), [{name: "预测", data: pick(rows, "forecast"), axisName: "台"},
                                        {name: "实际", data: pick(rows, "actual"), axisName: "台"}]);
    },
    "credit-exposure": function (r) {
      var rows = r.exposure.slice(0, 20);
      return bar(pick(rows, "dealer_code"), [
        {name: "信用额度", data: rows.map(function (x) { return yuan(x.limit_fen); }), axisName: "元"},
        {name: "占用敞口", data: rows.map(function (x) { return yuan(x.exposure_fen); }), axisName: "元"}]);
    },
    "credit-ageing": function (r) {
      return {tooltip: {trigger: "item", valueFormatter: money}, legend: {bottom: 0},
        series: [{type: "pie", radius: ["35%", "65%"], data: r.ageing.map(function (x) { return {name: x.label, value: yuan(x.open_fen)}; })}]};
    },
    "stock-ageing": function (r) {
      var rows = r.dealers.slice(0, 30);
      var names = pick(rows, "dealer_code");
      var stack = function (name, key, color) { return {name: name, stack: "age", data: pick(rows, key), itemStyle: {color: color}, axisName: "台"}; };
      return bar(names, [stack("正常", "green", "#3ba272"), stack("预警", "yellow", "#fac858"), stack("超期", "red", "#ee6666")]);
    },
    "quality-by-line": function (r) {
      return bar(pick(r.by_line, "label"), [{name: "维修次数", data: pick(r.by_line, "repairs"), axisName: "次"},
        {name: "返修率（%）", type: "line", yAxisIndex: 1, data: pick(r.by_line, "repeat_rate_pct"), axisName: "%"}]);
    },
    "quality-by-fault": function (r) {
      return bar(pick(r.by_fault, "label"), [{name: "索赔金额（元）", data: r.by_fault.map(function (x) { return yuan(x.claim_fen); }), axisName: "元"}]);
    },
    "quality-by-part": function (r) {
      return bar(pick(r.by_part, "part_name"), [{name: "更换数量", data: pick(r.by_part, "quantity"), axisName: "件"}]);
    },
    "quality-by-station": function (r) {
      return bar(pick(r.by_station, "station_name"), [{name: "索赔金额（元）", data: r.by_station.map(function (x) { return yuan(x.claim_fen); }), axisName: "元"}]);
    },
    "campaign-cost-revenue": function (r) {
      var rows = r.campaigns;
      return bar(pick(rows, "name"), [{name: "投入（元）", data: rows.map(function (x) { return yuan(x.cost_fen); }), axisName: "元"},
                                       {name: "成交金额（元）", data: rows.map(function (x) { return yuan(x.revenue_fen); }), axisName: "元"}]);
    },
    "campaign-leads": function (r) {
      var rows = r.campaigns;
      return bar(pick(rows, "name"), [{name: "线索", data: pick(rows, "leads"), axisName: "条"},
                                       {name: "成交", data: pick(rows, "converted"), axisName: "条"}]);
    },
    "dealer-stock-lines": function (r) {
      var rows = r.dealers.slice(0, 30);
      var colours = {tanker: "#5470c6", dump_truck: "#91cc75", semi_trailer: "#fac858"};
      return bar(pick(rows, "dealer_code"), r.lines.map(function (l) {
        return {name: l.label, stack: "line", data: pick(rows, l.code), itemStyle: {color: colours[l.code]}, axisName: "台"};
      }).concat([{name: "在途", data: pick(rows, "on_the_way"), axisName: "台"}]));
    },
    "credit-grades": function (r) {
      var colours = {A: "#3ba272", B: "#5470c6", C: "#fac858", D: "#ee6666"};
      return bar(pick(r.grades, "grade"), [{name: "经销商数", axisName: "家",
        data: r.grades.map(function (g) { return {value: g.dealers, itemStyle: {color: colours[g.grade]}}; })}]);
    },
    "credit-score-trend": function (r) {
      return bar(pick(r.by_month, "month"), [{name: "评价次数", data: pick(r.by_month, "evaluations"), axisName: "次"},
        {name: "平均分", type: "line", yAxisIndex: 1, connectNulls: true, data: pick(r.by_month, "average_score"), axisName: "分"}]);
    },
    "credit-lowest-scores": function (r) {
      var rows = r.dealers.slice(0, 20);
      return bar(pick(rows, "dealer_code"), [{name: "信用得分", data: pick(rows, "score"), axisName: "分"}]);
    },
    "training-by-training": function (r) {
      var rows = r.trainings;
      return bar(pick(rows, "training_no"), [{name: "邀请", data: pick(rows, "invited"), axisName: "人"},
        {name: "确认", data: pick(rows, "confirmed"), axisName: "人"}, {name: "出席", data: pick(rows, "attended"), axisName: "人"}]);
    },
    "training-by-month": function (r) {
      return bar(pick(r.by_month, "key"), [{name: "出席", data: pick(r.by_month, "attended"), axisName: "人"},
        {name: "参训率（%）", type: "line", yAxisIndex: 1, connectNulls: true, data: pick(r.by_month, "completion_rate_pct"), axisName: "%"}]);
    },
    "training-by-audience": function (r) {
      return bar(pick(r.by_audience, "label"), [{name: "邀请", data: pick(r.by_audience, "invited"), axisName: "人"},
        {name: "出席", data: pick(r.by_audience, "attended"), axisName: "人"}]);
    },
    "satisfaction-scores": function (r) {
      var names = r.service_scores.map(function (s) { return s.score + "分"; });
      return bar(names, [{name: "服务记录（客户评分）", data: pick(r.service_scores, "count"), axisName: "个"},
        {name: "问卷（每份答复最低分）", data: pick(r.survey_scores, "count"), axisName: "个"}]);
    },
    "satisfaction-dealers": function (r) {
      var rows = r.dealers.filter(function (d) { return d.survey_low > 0 || (d.service_avg !== null && d.service_avg < r.service_threshold); }).slice(0, 20);
      return bar(pick(rows, "dealer_code"), [{name: "问卷低分", stack: "low", data: pick(rows, "survey_low"), axisName: "个"},
        {name: "服务低分", stack: "low", data: pick(rows, "service_low"), axisName: "个"}]);
    },
    "parts-stock-by-station": function (r) {
      var rows = r.stations.slice(0, 30);
      return bar(pick(rows, "station_name"), [
        {name: "库存金额（元）", data: rows.map(function (x) { return yuan(x.value_fen); }), axisName: "元"},
        {name: "呆滞金额（元）", data: rows.map(function (x) { return yuan(x.slow_value_fen); }), axisName: "元"}]);
    },
    "parts-stock-by-region": function (r) {
      return {tooltip: {trigger: "item", valueFormatter: money}, legend: {bottom: 0, type: "scroll"},
        series: [{type: "pie", radius: ["35%", "65%"], data: r.by_region.map(function (x) { return {name: x.region, value: yuan(x.value_fen)}; })}]};
    },
    "gate-throughput": function (r) {
      return bar(pick(r.days, "day"), [{name: "出门证", type: "line", data: pick(r.days, "exits"), axisName: "张"},
                                       {name: "车辆", type: "bar", data: pick(r.days, "vehicles"), axisName: "张"}]);
    }
  };
  var drawn = [];
  Object.keys(charts).forEach(function (id) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = window.echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(charts[id](report));
    drawn.push(chart);
  });
  window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
  document.documentElement.dataset.chartsDrawn = String(drawn.length);
})();
